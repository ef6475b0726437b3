"""While "Enable Customer Portal" is off: answer customers with the unavailable page."""

from __future__ import annotations

import json
from collections.abc import Callable

from aiohttp import hdrs, web

from gateway import cookies
from gateway.config import UNAVAILABLE_MESSAGE, CustomerPortalConfig
from gateway.responses import wants_json
from gateway.rules import RouteContext

UNAVAILABLE_JSON = json.dumps(
    {"error": "customer_portal_unavailable", "message": UNAVAILABLE_MESSAGE}
)


def unavailable_response(
    request: web.BaseRequest, portal: CustomerPortalConfig, matcher: cookies.SessionCookieMatcher
) -> web.Response:
    """503 with Retry-After, no-store, the page or JSON, and every carried session cookie expired."""
    if wants_json(request):
        response = web.Response(status=503, text=UNAVAILABLE_JSON, content_type="application/json")
    else:
        response = web.Response(status=503, text=portal.unavailable_html, content_type="text/html")
    response.headers[hdrs.RETRY_AFTER] = str(portal.retry_after)
    response.headers[hdrs.CACHE_CONTROL] = "no-store"
    response.headers[hdrs.VARY] = "Accept"
    # SECURITY: logging customers out is part of the answer: every configured session cookie the
    # browser sent is deleted for each Path/Domain variant it may have been set with.
    carried = cookies.session_names(request.headers.getall(hdrs.COOKIE, []), matcher)
    for name in carried:
        for line in cookies.expiry_lines(name, portal.cookie_paths, portal.cookie_domains):
            response.headers.add(hdrs.SET_COOKIE, line)
    if request.body_exists:
        # The body is never read, let alone forwarded; the connection cannot be reused.
        response.force_close()
    return response


class PortalGate:
    """Answers every customer request while the portal is disabled; passes otherwise."""

    def __init__(self, enabled: Callable[[], bool], portal: CustomerPortalConfig) -> None:
        self.enabled = enabled
        self.portal = portal
        self.matcher = cookies.SessionCookieMatcher(portal.session_cookies)

    async def __call__(
        self, request: web.Request, ctx: RouteContext, /
    ) -> web.StreamResponse | None:
        # SECURITY: a synchronous read of the poller's state; requests never wait on the store,
        # and whatever the store does, `enabled()` is only True after a good read said so.
        if self.enabled():
            return None
        ctx.reason = "customer_disabled"
        return unavailable_response(request, self.portal, self.matcher)
