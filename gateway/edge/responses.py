"""Pages the gateway answers with itself, as aiohttp responses (content: gateway.policy.pages)."""

from __future__ import annotations

from aiohttp import web

from gateway.policy.pages import error_page
from gateway.web.pages import page_response
from gateway.wire.negotiate import wants_json as prefers_json


def wants_json(request: web.BaseRequest) -> bool:
    """True when the client prefers JSON to HTML (see gateway.wire.negotiate)."""
    return prefers_json(request.headers.get("Accept", ""))


def error_response(
    request: web.BaseRequest,
    status: int,
    request_id: str,
    *,
    message: str | None = None,
    close: bool = False,
) -> web.Response:
    accept = request.headers.get("Accept", "")
    return page_response(error_page(status, request_id, accept, message=message, close=close))
