"""Decision -> aiohttp answers: the proxy front end's responses for a Deny."""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import hdrs, web

from gateway.config import CustomerPortalConfig
from gateway.policy import Deny, GateState
from gateway.policy.pages import deny_page, unavailable_page
from gateway.web.pages import page_response


def unavailable_response(
    request: web.BaseRequest,
    portal: CustomerPortalConfig,
    state: GateState,
    now: float,
    set_cookies: Iterable[str] = (),
    *,
    close: bool = False,
) -> web.Response:
    """503 with Retry-After, no-store, the page or JSON, and the given cookie expiries."""
    # The body is never read, let alone forwarded; the connection cannot be reused.
    close = close or request.body_exists
    accept = request.headers.get(hdrs.ACCEPT, "")
    language = request.headers.get(hdrs.ACCEPT_LANGUAGE, "")
    page = unavailable_page(portal, state, now, accept, language, set_cookies, close=close)
    return page_response(page)


def deny_response(
    request: web.BaseRequest,
    deny: Deny,
    portal: CustomerPortalConfig,
    request_id: str,
    state: GateState,
    now: float,
) -> web.Response:
    """The answer a Deny gives a client of the proxy (`state`: the one it was decided on)."""
    accept = request.headers.get(hdrs.ACCEPT, "")
    language = request.headers.get(hdrs.ACCEPT_LANGUAGE, "")
    return page_response(deny_page(deny, portal, request_id, state, now, accept, language))
