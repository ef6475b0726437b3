"""`/_gateway/decision`: the gate as a forward-auth service for the proxy in front.

nginx `auth_request`, Traefik `forwardAuth`, Caddy `forward_auth` and Envoy `ext_authz` ask
before they forward. The original request is read only from the header family of the proxy
named in `forward_auth.proxy`, and only when the asking peer is in `proxy.trusted_proxies`
(gateway/policy/forward_auth.py). The answer is the same `Gate.decide()` the proxy front end calls,
translated into what that proxy can act on (gateway/admin/forward_answer.py): allow with the Cookie
line it must send upstream and the Set-Cookie lines it must add (the session stamp included:
the gateway never sees the upstream's answer in this mode), or deny with the gateway's page.
"""

from __future__ import annotations

import logging

from aiohttp import hdrs, web
from multidict import CIMultiDict

from gateway.admin import forward_answer
from gateway.config import Config
from gateway.policy import Allow, Gate, GateState, RequestFacts
from gateway.policy.forward_auth import ForwardAuthRefused, Forwarded, read_forwarded
from gateway.policy.pages import Page, deny_page, error_page
from gateway.web.outcome import outcome
from gateway.wire.headers import decode_raw

log = logging.getLogger("gateway.decision")


def _deny_status(request: web.BaseRequest, config: Config) -> int | None:
    # nginx auth_request only understands 401/403 as "deny" (anything else is its own 500).
    # SECURITY: Envoy's check carries the client's query, and Caddy's would without the fixed
    # one its example sets: only proxies that ask a fixed URL choose the deny status.
    if config.forward_auth.proxy not in ("nginx", "traefik"):
        return None
    wanted = request.query.get("deny_status", "")
    return int(wanted) if wanted in ("401", "403") else None


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


def forward_auth_facts(request: web.BaseRequest, original: Forwarded, now: float) -> RequestFacts:
    return RequestFacts(
        method=original.method.upper(),
        target=original.target,
        host_lines=(original.host,) if original.host else (),
        cookie_lines=original.cookies,
        # Passed on by nginx, Traefik and Caddy as the client sent it; Envoy when listed.
        accept=request.headers.get(hdrs.ACCEPT, ""),
        accept_language=request.headers.get(hdrs.ACCEPT_LANGUAGE, ""),
        client_ip=original.client,
        secure=original.scheme == "https",
        started_at=now,
        front_end="forward_auth",
    )


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


def _denied(request: web.BaseRequest, config: Config, page: Page, request_id: str) -> web.Response:
    proxy = config.forward_auth.proxy
    headers = [
        ("Content-Type", f"{page.content_type}; charset=utf-8"),
        *((k, v) for k, v in page.headers if k.lower() != "cache-control"),
        ("Cache-Control", "no-store"),
    ]
    if proxy is None:
        return web.Response(status=page.status, text=page.text, headers=CIMultiDict(headers))
    answer = forward_answer.deny(
        proxy,
        page.status,
        headers,
        page.text.encode(),
        config.customer_portal.stamp_cookie,
        _deny_status(request, config),
    )
    return _send(answer, request_id)


def decide(
    request: web.Request,
    config: Config,
    gate: Gate,
    state: GateState,
    now: float,
    request_id: str,
) -> web.Response:
    """Allow (204; 200 for Envoy) or deny (the gateway's own answer) the described request.

    The exchange's Outcome becomes the original request's (its method, target, client, route,
    portal and decision), so the metrics and the access log count it as the proxy front end
    counts what it decides, never as a reserved endpoint of the gateway's own.
    """
    note = outcome(request)
    # Until the gate has decided: a failure on the way is counted as one (refused), never as
    # the gateway's own answer.
    note.route, note.portal, note.reason = "-", "-", "classify_error"
    try:
        original = read(request, config)
    except ForwardAuthRefused as exc:
        note.reason = f"refused_{exc.status}"
        log.warning("decision refused %d: %s [request %s]", exc.status, exc.reason, request_id)
        accept = request.headers.get(hdrs.ACCEPT, "")
        return _denied(request, config, error_page(exc.status, request_id, accept), request_id)
    note.method, note.target, note.client_ip = (
        original.method.upper(),
        original.target,
        original.client,
    )
    facts = forward_auth_facts(request, original, now)
    decision = gate.decide(facts, state)
    note.reason = decision.reason
    if decision.route is not None:
        note.route, note.portal = decision.route.name, decision.route.portal
    if isinstance(decision, Allow):
        note.cause = decision.shadowed
        # Untouched (office, public): the client's own Cookie lines, as one line.
        cookie = (
            (decision.upstream_cookie or "")
            if decision.cookie_edited
            else "; ".join(original.cookies)
        )
        answer = forward_answer.allow(
            original.proxy,
            cookie,
            decision.set_cookies,
            config.customer_portal.stamp_cookie,
            decision.route.name,
            shadowed=decision.shadowed,
        )
        if decision.shadowed is not None:
            log.info(
                "shadow: decision would_block, route %s, reason %s [request %s]",
                decision.route.name,
                decision.shadowed,
                request_id,
            )
        return _send(answer, request_id)
    note.cause = decision.cause
    portal = config.customer_portal
    page = deny_page(decision, portal, request_id, state, now, facts.accept, facts.accept_language)
    return _denied(request, config, page, request_id)
