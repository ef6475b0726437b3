"""Pages as aiohttp responses: every header kept in order, a close honoured, Accept read."""

from __future__ import annotations

import json

from aiohttp import web
from pytest_aiohttp import AiohttpClient

from gateway.edge.responses import error_response, wants_json


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
