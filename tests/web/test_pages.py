"""A policy Page as an aiohttp response: every header kept in order, a close honoured."""

from __future__ import annotations

from aiohttp import web
from pytest_aiohttp import AiohttpClient

from gateway.policy.pages import Page
from gateway.web.pages import page_response


async def test_a_page_becomes_a_response_with_every_header_and_the_close(
    aiohttp_client: AiohttpClient,
) -> None:
    page = Page(
        418,
        "text/plain",
        "short and stout",
        (("Set-Cookie", "a=; Max-Age=0"), ("Set-Cookie", "b=; Max-Age=0"), ("Retry-After", "5")),
        close=True,
    )

    async def handler(request: web.Request) -> web.StreamResponse:
        return page_response(page)

    app = web.Application()
    app.router.add_get("/", handler)
    client = await aiohttp_client(app)
    async with client.get("/") as resp:
        assert (resp.status, await resp.text()) == (418, "short and stout")
        assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert resp.headers.getall("Set-Cookie") == ["a=; Max-Age=0", "b=; Max-Age=0"]
        assert resp.headers["Retry-After"] == "5"
        assert resp.headers["Connection"] == "close"
