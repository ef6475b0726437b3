"""A policy Page as an aiohttp response: the same bytes from every front end."""

from __future__ import annotations

from aiohttp import web

from gateway.policy.pages import Page


def page_response(page: Page) -> web.Response:
    response = web.Response(status=page.status, text=page.text, content_type=page.content_type)
    for name, value in page.headers:
        response.headers.add(name, value)
    if page.close:
        # The request body was not read: the connection cannot carry another request.
        response.force_close()
    return response
