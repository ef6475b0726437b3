"""Pages as aiohttp responses: every header kept in order, a close honoured, Accept read."""

from __future__ import annotations

import json

from aiohttp import web
from pytest_aiohttp import AiohttpClient

from gateway.edge.responses import error_response, page_response, wants_json
from gateway.policy.pages import Page


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


async def test_an_error_response_speaks_json_to_json_clients(
    aiohttp_client: AiohttpClient,
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        assert wants_json(request) == (request.headers.get("Accept") == "application/json")
        return error_response(request, 502, "rid", message="down")

    app = web.Application()
    app.router.add_get("/", handler)
    client = await aiohttp_client(app)
    async with client.get("/", headers={"Accept": "application/json"}) as resp:
        assert resp.status == 502 and "Connection" not in resp.headers
        assert json.loads(await resp.text()) == {
            "error": "bad_gateway",
            "message": "down",
            "request_id": "rid",
        }
    async with client.get("/", headers={"Accept": "text/html"}) as resp:
        assert resp.content_type == "text/html" and "<p>down</p>" in await resp.text()
