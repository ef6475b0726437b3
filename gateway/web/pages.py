"""A policy Page as an aiohttp response: the same bytes from every front end."""

from __future__ import annotations

from aiohttp import hdrs, web

from gateway.policy.pages import Page

_CHARSET = "; charset=utf-8"


def page_response(page: Page) -> web.Response:
    # The headers handed over at once (aiohttp builds its multidict from them in one call), in
    # the order `text=` would give them (Content-Type first): the same bytes as
    # `web.Response(text=..., content_type=...)` followed by one `add` per header.
    headers = ((hdrs.CONTENT_TYPE, page.content_type + _CHARSET), *page.headers)
    response = web.Response(status=page.status, body=page.text.encode(), headers=headers)
    if page.close:
        # The request body was not read: the connection cannot carry another request.
        response.force_close()
    return response
