"""`<admin_prefix>/preview/<token>`: opening a staff preview link, for every front end.

A valid link sets the `portal_gateway_preview` cookie (the token itself, expiring with it) and
redirects 303 to `/`; anything else is a 404 page and sets nothing. The access log never holds
the token (gateway/wire/logline.py logs the path as `/_gateway/preview/-`).
"""

from __future__ import annotations

import logging

from aiohttp import hdrs, web

from gateway.config import Config
from gateway.policy import Gate, GateState, preview
from gateway.policy.pages import error_page
from gateway.web.pages import page_response
from gateway.wire.headers import decode_raw, is_trusted, values

log = logging.getLogger("gateway.preview")


def is_preview(raw_path: str, prefix: str) -> bool:
    """True for any target the endpoint answers (a bad token included: it answers 404)."""
    return raw_path.partition("?")[0].startswith(prefix + preview.PATH)


def came_over_https(request: web.BaseRequest, config: Config) -> bool:
    """https directly, or as a trusted proxy in front says (X-Forwarded-Proto)."""
    if request.secure:
        return True
    if not is_trusted(request.remote, config.proxy.trusted_proxies):
        return False
    try:
        headers = decode_raw(request.raw_headers)
    except ValueError:
        return False
    return values(headers, "x-forwarded-proto")[:1] == ["https"]


def open_preview(
    request: web.BaseRequest,
    config: Config,
    gate: Gate,
    state: GateState,
    now: float,
    request_id: str,
) -> web.Response:
    accept = request.headers.get(hdrs.ACCEPT, "")
    if request.method not in ("GET", "HEAD"):
        return page_response(error_page(405, request_id, accept))
    token = preview.token_of(request.raw_path, config.admin_prefix)
    checked = gate.previews.check(token or "", now, state.preview_generation)
    if token is None or not checked.valid:
        log.info("preview link refused: %s [request %s]", checked.verdict, request_id)
        message = "This preview link is not valid: it has expired, was revoked, or was altered."
        return page_response(error_page(404, request_id, accept, message=message))
    secure = came_over_https(request, config)
    response = web.Response(status=303)
    response.headers[hdrs.LOCATION] = "/"
    response.headers[hdrs.CACHE_CONTROL] = "no-store"
    # The link is a credential: no page it leads to may pass it on as a Referer.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.add(
        hdrs.SET_COOKIE, preview.set_cookie(token, checked.expires_at, now, secure)
    )
    log.info("preview opened until %d [request %s]", checked.expires_at, request_id)
    return response
