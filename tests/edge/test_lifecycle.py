"""The cleanup contexts and readings: the upstream client lives as long as the app, readiness
says why not, the gauges count customer exchanges by phase and follow the state."""

from __future__ import annotations

from aiohttp import web

from gateway.edge.handler import GATEWAY
from gateway.edge.keys import DRAINING, METRICS, READY, SESSION
from gateway.edge.lifecycle import refresh_metrics
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
    metrics = app[METRICS]
    refresh_metrics(app)
    assert _value(app, "portal_gateway_customer_portal_enabled") == 1.0
    assert _value(app, "portal_gateway_open_connections", kind="customer_exchanges") == 0.0
    assert _value(app, "portal_gateway_open_connections", kind="customer_relaying") == 0.0
    changes = _value(app, "portal_gateway_state_changes_total")
    assert changes is not None
    await gw.set_enabled(False)
    # A flip moves the gauge at once (no scrape needed) and is counted.
    assert _value(app, "portal_gateway_customer_portal_enabled") == 0.0
    assert _value(app, "portal_gateway_state_changes_total") == changes + 1
    assert metrics is app[METRICS]
    app[DRAINING].active = True
    assert app[READY]() == "draining"


def _value(app: web.Application, name: str, **labels: str) -> float | None:
    return app[METRICS].registry.get_sample_value(name, labels)
