"""Decision -> aiohttp answers: the gateway's own responses for a Deny, on either front end."""

from __future__ import annotations

import json
from collections.abc import Iterable

from aiohttp import hdrs, web

from gateway.config import UNAVAILABLE_MESSAGE, CustomerPortalConfig
from gateway.edge.responses import error_response, wants_json
from gateway.policy import Deny

UNAVAILABLE_JSON = json.dumps(
    {"error": "customer_portal_unavailable", "message": UNAVAILABLE_MESSAGE}
)


def unavailable_response(
    request: web.BaseRequest,
    portal: CustomerPortalConfig,
    set_cookies: Iterable[str] = (),
    *,
    close: bool = False,
) -> web.Response:
    """503 with Retry-After, no-store, the page or JSON, and the given cookie expiries."""
    if wants_json(request):
        response = web.Response(status=503, text=UNAVAILABLE_JSON, content_type="application/json")
    else:
        response = web.Response(status=503, text=portal.unavailable_html, content_type="text/html")
    response.headers[hdrs.RETRY_AFTER] = str(portal.retry_after)
    response.headers[hdrs.CACHE_CONTROL] = "no-store"
    response.headers[hdrs.VARY] = "Accept"
    for line in set_cookies:
        response.headers.add(hdrs.SET_COOKIE, line)
    if close or request.body_exists:
        # The body is never read, let alone forwarded; the connection cannot be reused.
        response.force_close()
    return response


def deny_response(
    request: web.BaseRequest, deny: Deny, portal: CustomerPortalConfig, request_id: str
) -> web.Response:
    """The answer a Deny gives a client of the proxy (forward-auth maps statuses itself)."""
    if deny.body == "unavailable":
        response = unavailable_response(request, portal, deny.set_cookies, close=deny.close)
        response.headers.setdefault("X-Request-ID", request_id)
        return response
    response = error_response(request, deny.status, request_id, close=deny.close)
    for line in deny.set_cookies:
        response.headers.add(hdrs.SET_COOKIE, line)
    return response
