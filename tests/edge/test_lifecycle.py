"""The cleanup contexts and readings: the upstream client lives as long as the app, readiness
says why not, the gauges count customer exchanges by phase."""

from __future__ import annotations

from gateway.edge.handler import GATEWAY
from gateway.edge.keys import DRAINING, GAUGES, READY, SESSION
from tests.conftest import StartGateway, StartUpstream


async def test_the_upstream_client_is_the_forwarders_and_closes_with_the_app(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    app = gw.client.app
    session = app[SESSION]
    forwarder = app[GATEWAY].forwarder
    assert forwarder is not None and forwarder.session is session
    assert not session.closed
    await gw.client.close()
    assert session.closed


async def test_readiness_and_gauges_read_the_apps_current_state(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    app = gw.client.app
    assert app[READY]() is None
    assert app[GAUGES]() == {
        "portal_gateway_customer_portal_enabled": 1.0,
        "portal_gateway_live_customer_connections": 0.0,
        "portal_gateway_customer_exchanges_in_flight": 0.0,
    }
    await gw.set_enabled(False)
    assert app[GAUGES]()["portal_gateway_customer_portal_enabled"] == 0.0
    app[DRAINING].active = True
    assert app[READY]() == "draining"
