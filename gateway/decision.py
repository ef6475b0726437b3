"""`/_gateway/decision`: the gate as a forward-auth service for the proxy in front.

nginx `auth_request`, Traefik `forwardAuth`, Caddy `forward_auth` and Envoy `ext_authz` ask
before they forward. The original request is read only from the header family of the proxy
named in `forward_auth.proxy`, and only when the asking peer is in `proxy.trusted_proxies`
(gateway/forward_auth.py); the answer is translated into what that proxy can act on
(gateway/forward_answer.py).
"""

from __future__ import annotations

import logging

from aiohttp import web
from multidict import CIMultiDict

from gateway import forward_answer, hosts, routing
from gateway.config import Config
from gateway.cookies import SessionCookieMatcher
from gateway.forward_auth import ForwardAuthRefused, Forwarded, read_forwarded
from gateway.headers import decode_raw
from gateway.paths import PathRejected, canonicalize
from gateway.responses import error_response
from gateway.rules.portal_gate import unavailable_response

log = logging.getLogger("gateway.decision")


def _deny_status(request: web.BaseRequest, config: Config) -> int | None:
    # nginx auth_request only understands 401/403 as "deny" (anything else is its own 500).
    # SECURITY: Envoy's check carries the client's query and Caddy's may; only proxies that ask
    # a fixed URL choose the deny status.
    if config.forward_auth.proxy not in ("nginx", "traefik"):
        return None
    wanted = request.query.get("deny_status", "")
    return int(wanted) if wanted in ("401", "403") else None


def _send(answer: forward_answer.Answer, request_id: str) -> web.Response:
    if answer.dropped_set_cookies:
        log.warning(
            "decision: %d Set-Cookie lines beyond the %d nginx slots were not sent [request %s]",
            answer.dropped_set_cookies,
            forward_answer.NGINX_SET_COOKIE_SLOTS,
            request_id,
        )
    return web.Response(
        status=answer.status, body=answer.body or None, headers=CIMultiDict(answer.headers)
    )


def _denied(
    request: web.BaseRequest, config: Config, response: web.Response, request_id: str
) -> web.Response:
    proxy = config.forward_auth.proxy
    response.headers["Cache-Control"] = "no-store"
    if proxy is None:
        return response
    body = response.body if isinstance(response.body, bytes) else b""
    answer = forward_answer.deny(
        proxy,
        response.status,
        list(response.headers.items()),
        body,
        config.customer_portal.stamp_cookie,
        _deny_status(request, config),
    )
    return _send(answer, request_id)


def read(request: web.BaseRequest, config: Config) -> Forwarded:
    """The original request behind this forward-auth request; raises ForwardAuthRefused."""
    try:
        headers = decode_raw(request.raw_headers)
    except ValueError:
        raise ForwardAuthRefused(
            400, "forward-auth request with a header that is not UTF-8"
        ) from None
    return read_forwarded(
        config.forward_auth.proxy,
        headers,
        request.raw_path,
        request.remote or "",
        config.proxy.trusted_proxies,
        method=request.method,
        decision_path=f"{config.admin_prefix}/decision",
    )


def decide(
    request: web.BaseRequest, config: Config, enabled: bool, request_id: str
) -> web.Response:
    """Allow (204; 200 for Envoy) or deny (the gateway's own answer) the described request."""
    try:
        original = read(request, config)
    except ForwardAuthRefused as exc:
        log.warning("decision refused %d: %s [request %s]", exc.status, exc.reason, request_id)
        return _denied(request, config, error_response(request, exc.status, request_id), request_id)
    try:
        target = canonicalize(original.target, escaped_slashes=config.proxy.escaped_slashes)
    except PathRejected as exc:
        # SECURITY: a target the gateway would refuse is denied, never allowed by default.
        return _denied(request, config, error_response(request, exc.status, request_id), request_id)
    host_value = target.authority or original.host
    host = hosts.canonical_host(host_value) if host_value else ""
    if host is None:
        return _denied(request, config, error_response(request, 400, request_id), request_id)
    route = routing.match(config.routes, target.segments, host, original.method)
    if route is None:
        return _denied(request, config, error_response(request, 404, request_id), request_id)
    if route.portal == "customer" and not enabled:
        matcher = SessionCookieMatcher(config.customer_portal.session_cookies)
        page = unavailable_response(request, config.customer_portal, matcher)
        return _denied(request, config, page, request_id)
    assert original.proxy is not None
    answer = forward_answer.allow(
        original.proxy,
        "; ".join(original.cookies),
        (),
        config.customer_portal.stamp_cookie,
        route.name,
    )
    return _send(answer, request_id)
