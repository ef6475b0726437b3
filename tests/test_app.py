"""create_app: the parts assembled, readiness and gauges, the admin app, our own Server name."""

from __future__ import annotations

from aiohttp import web
from pytest_aiohttp import AiohttpClient

from gateway.app import create_app
from gateway.config import parse_config
from gateway.edge.exchanges import Phase
from gateway.edge.keys import ADMIN_APP, EXCHANGES, METRICS, READY
from gateway.edge.lifecycle import refresh_metrics
from tests.conftest import StartGateway, StartUpstream, config_text


async def test_our_answers_name_the_gateway_and_relayed_ones_keep_the_upstreams_server(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    async def named(request: web.Request) -> web.StreamResponse:
        return web.Response(text="x", headers={"Server": "portal/1.0"})

    gw = await gateway((await upstream({"/office/named": named})).url)
    async with gw.client.get("/office/named") as resp:
        assert resp.headers["Server"] == "portal/1.0"
    async with gw.client.get("/_gateway/healthz") as resp:
        assert resp.headers["Server"] == "portal-gateway"
    renamed = await gateway((await upstream()).url, {"proxy": {"server_header": "edge"}})
    async with renamed.client.get("/no/such/route/%00") as resp:
        assert resp.status == 400 and resp.headers["Server"] == "edge"


async def test_readiness_and_gauges_follow_the_state_and_the_exchanges(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    gw = await gateway((await upstream()).url)
    app = gw.client.app
    assert app[READY]() is None  # the first read is done
    live = app[EXCHANGES].register("GET")
    live.phase = Phase.RELAYING
    refresh_metrics(app)
    value = app[METRICS].registry.get_sample_value
    assert value("portal_gateway_customer_portal_enabled") == 1.0
    assert value("portal_gateway_open_connections", {"kind": "customer_relaying"}) == 1.0
    assert value("portal_gateway_open_connections", {"kind": "customer_exchanges"}) == 1.0
    # A disable ends every customer exchange in flight at once.
    await gw.set_enabled(False)
    assert live.cut
    live.done()
    assert value("portal_gateway_customer_portal_enabled") == 0.0


async def test_the_admin_app_serves_the_reserved_endpoints_and_proxies_nothing(
    aiohttp_client: AiohttpClient,
) -> None:
    config = parse_config(
        config_text("http://127.0.0.1:1", {"admin_listen": "127.0.0.1:0"}), "t.yaml"
    )
    app = create_app(config)
    client = await aiohttp_client(app[ADMIN_APP])
    async with client.get("/_gateway/healthz") as resp:
        assert (resp.status, resp.headers["Server"]) == (200, "portal-gateway")
    async with client.get("/enroll") as resp:
        assert resp.status == 404 and "No route serves this address." in await resp.text()
    async with client.request("OPTIONS", "/_gateway") as resp:
        assert resp.status == 405  # the admin's own answer, not aiohttp's default
    async with client.get("/_gateway/metrics") as resp:
        assert "portal_gateway_customer_portal_enabled 0.0" in await resp.text()
