"""`/_gateway/decision`: the gate as a forward-auth service for another proxy in front.

nginx `auth_request`, Traefik `ForwardAuth`, Envoy `ext_authz` and Caddy `forward_auth` ask
before they forward; the original request's method, URI and host arrive in headers. The answer
is the same decision the gateway makes for requests it proxies itself: 2xx allow, otherwise
deny with the unavailable page (and the customer's session cookies expired).
"""

from __future__ import annotations

from aiohttp import web

from gateway import hosts, routing
from gateway.config import Config
from gateway.cookies import SessionCookieMatcher
from gateway.paths import PathRejected, canonicalize
from gateway.responses import error_response
from gateway.rules.portal_gate import unavailable_response

METHOD_HEADERS = ("X-Original-Method", "X-Forwarded-Method")
URI_HEADERS = ("X-Original-URI", "X-Forwarded-Uri", "X-Original-URL")
HOST_HEADERS = ("X-Forwarded-Host", "X-Original-Host", "Host")


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


def decide(
    request: web.BaseRequest, config: Config, enabled: bool, request_id: str
) -> web.Response:
    """Allow (204) or deny (the status the gateway would answer with) the described request."""
    method = _first(request, METHOD_HEADERS, "GET").upper()
    uri = _first(request, URI_HEADERS, "/")
    host_value = _first(request, HOST_HEADERS, "")
    try:
        target = canonicalize(uri, escaped_slashes=config.proxy.escaped_slashes)
    except PathRejected as exc:
        # SECURITY: a target the gateway would refuse is denied, never allowed by default.
        response = error_response(request, exc.status, request_id)
        response.set_status(_deny_status(request, exc.status))
        return response
    host = (
        hosts.canonical_host(target.authority or host_value)
        if (target.authority or host_value)
        else ""
    )
    if host is None:
        return error_response(request, _deny_status(request, 400), request_id)
    route = routing.match(config.routes, target.segments, host, method)
    if route is None:
        return error_response(request, _deny_status(request, 404), request_id)
    if route.portal == "customer" and not enabled:
        matcher = SessionCookieMatcher(config.customer_portal.session_cookies)
        response = unavailable_response(request, config.customer_portal, matcher)
        response.set_status(_deny_status(request, 503))
        return response
    allowed = web.Response(status=204)
    allowed.headers["X-Portal-Gateway-Route"] = route.name
    allowed.headers["Cache-Control"] = "no-store"
    return allowed
