"""`/_gateway/decision`: the gate as a forward-auth service for another proxy in front.

nginx `auth_request`, Traefik `ForwardAuth`, Envoy `ext_authz` and Caddy `forward_auth` ask
before they forward; the original request's method, URI and host arrive in headers. The answer
is the same `Gate.decide()` the proxy front end calls, translated: 2xx allow (with the Cookie
line the proxy must send upstream and the Set-Cookie lines it must add), otherwise deny with the
unavailable page (and the customer's session cookies expired).
"""

from __future__ import annotations

from aiohttp import hdrs, web

from gateway.answers import deny_response
from gateway.config import Config
from gateway.headers import values
from gateway.policy import Allow, Gate, GateState, RequestFacts

METHOD_HEADERS = ("X-Original-Method", "X-Forwarded-Method")
URI_HEADERS = ("X-Original-URI", "X-Forwarded-Uri", "X-Original-URL")
HOST_HEADERS = ("X-Forwarded-Host", "X-Original-Host", "Host")
# The Cookie line the proxy sends upstream instead of the client's (empty: none at all).
UPSTREAM_COOKIE = "X-Portal-Gateway-Cookie"


def _first(request: web.BaseRequest, names: tuple[str, ...], default: str) -> str:
    for name in names:
        value = request.headers.get(name)
        if value:
            return value
    return default


def _deny_status(request: web.BaseRequest, default: int) -> int:
    # nginx auth_request only understands 401/403 as "deny" (anything else is its own 500), so
    # its configuration asks for 403 and serves the page through `error_page`.
    wanted = request.query.get("deny_status", "")
    return int(wanted) if wanted in ("401", "403") else default


def forward_auth_facts(request: web.BaseRequest, now: float) -> RequestFacts:
    host = _first(request, HOST_HEADERS, "")
    return RequestFacts(
        method=_first(request, METHOD_HEADERS, "GET").upper(),
        target=_first(request, URI_HEADERS, "/"),
        host_lines=(host,) if host else (),
        cookie_lines=tuple(values(list(request.headers.items()), hdrs.COOKIE)),
        accept=request.headers.get(hdrs.ACCEPT, ""),
        client_ip=request.remote or "",
        secure=request.headers.get("X-Forwarded-Proto", "") == "https",
        started_at=now,
        front_end="forward_auth",
    )


def decide(
    request: web.BaseRequest,
    config: Config,
    gate: Gate,
    state: GateState,
    now: float,
    request_id: str,
) -> web.Response:
    """Allow (204) or deny (the status the gateway would answer with) the described request."""
    decision = gate.decide(forward_auth_facts(request, now), state)
    if isinstance(decision, Allow):
        allowed = web.Response(status=204)
        allowed.headers["X-Portal-Gateway-Route"] = decision.route.name
        allowed.headers[hdrs.CACHE_CONTROL] = "no-store"
        if decision.cookie_edited:
            allowed.headers[UPSTREAM_COOKIE] = decision.upstream_cookie or ""
        for line in decision.set_cookies:
            allowed.headers.add(hdrs.SET_COOKIE, line)
        return allowed
    response = deny_response(request, decision, config.customer_portal, request_id)
    response.set_status(_deny_status(request, decision.status))
    return response
