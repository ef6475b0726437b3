"""A Deny as the proxy's aiohttp answer: the unavailable page, or the error page."""

from __future__ import annotations

from aiohttp import web
from pytest_aiohttp import AiohttpClient

from gateway.config import parse_config
from gateway.edge.answers import deny_response, unavailable_response
from gateway.policy import Deny, GateState
from gateway.policy.detail import MARKER
from tests.conftest import config_text

PORTAL = parse_config(config_text("http://127.0.0.1:8081"), "t.yaml").customer_portal
EXPIRY = "portal_session=; Max-Age=0; Path=/"
OFF = GateState(enabled=False, last_disabled_at=None)


async def test_the_unavailable_answer_closes_a_connection_whose_body_was_not_read(
    aiohttp_client: AiohttpClient,
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return unavailable_response(request, PORTAL, OFF, 0.0, [EXPIRY])

    app = web.Application()
    app.router.add_route("*", "/", handler)
    client = await aiohttp_client(app)
    async with client.get("/") as resp:
        page = PORTAL.unavailable_html.replace(MARKER, "")
        assert (resp.status, await resp.text()) == (503, page)
        assert resp.headers["Retry-After"] == "120"
        assert resp.headers.getall("Set-Cookie") == [EXPIRY]
        assert "Connection" not in resp.headers  # nothing unread: the connection is reusable
    async with client.post("/", data=b"x" * 100) as resp:
        assert resp.status == 503 and resp.headers["Connection"] == "close"
    async with client.get("/", headers={"Accept": "application/json"}) as resp:
        assert (await resp.json())["error"] == "customer_portal_unavailable"


async def test_a_deny_answers_with_its_status_request_id_and_expiries(
    aiohttp_client: AiohttpClient,
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        which = request.query["d"]
        deny = (
            Deny(503, "customer_disabled", "unavailable", (EXPIRY,))
            if which == "off"
            else Deny(404, "refused_404", "error", close=True)
        )
        return deny_response(request, deny, PORTAL, "rid7", OFF, 0.0)

    app = web.Application()
    app.router.add_get("/", handler)
    client = await aiohttp_client(app)
    async with client.get("/?d=off") as resp:
        assert (resp.status, resp.headers["X-Request-ID"]) == (503, "rid7")
        assert resp.headers.getall("Set-Cookie") == [EXPIRY]
    async with client.get("/?d=404") as resp:
        assert (resp.status, resp.headers["X-Request-ID"]) == (404, "rid7")
        assert resp.headers["Connection"] == "close"
        assert "404 Not Found" in await resp.text()
