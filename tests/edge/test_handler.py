"""The proxy front end: the reserved prefix's exact spelling, and a config swapped on SIGHUP."""

from __future__ import annotations

import pytest

from gateway.config import config_from_text
from gateway.edge.facts import exact_reserved
from gateway.edge.handler import GATEWAY
from gateway.edge.reload import apply_config
from gateway.settings import SOURCES
from tests.conftest import SESSION_KEY, StartGateway, StartUpstream, config_data, config_yaml

OFFICE_ONLY = [{"name": "office", "paths": ["/office"], "upstream": "portal", "portal": "office"}]


@pytest.mark.parametrize(
    ("target", "exact"),
    [
        ("/_gateway", True),
        ("/_gateway/healthz", True),
        ("/_gateway/healthz?x=1", True),
        ("/_gateway/decision/any%2Fthing/../x", True),  # Envoy's copy of the original path
        ("/_gatewayx", False),
        ("/_gateway/%68ealthz", False),  # escapes are never the endpoint's own spelling
        ("/_gateway/./healthz", False),
        ("/_GATEWAY/healthz", False),
        ("/public/_gateway", False),
    ],
)
def test_exact_reserved(target: str, exact: bool) -> None:
    assert exact_reserved(target, "/_gateway") is exact


async def test_a_reloaded_config_applies_to_the_next_request_and_names_what_waits(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    handler = gw.client.app[GATEWAY]
    async with gw.client.get("/enroll") as resp:
        assert resp.status == 200
    new = config_data(
        up.url,
        listen="127.0.0.1:1",
        admin_listen="127.0.0.1:2",
        routes=OFFICE_ONLY,
        settings={"source": "file:///elsewhere.json", "field": "enabled"},
        customer_portal={"session_key": "n" * 40, "retry_after": 7},
        proxy={"read_timeout": 99, "via": "renamed"},
    )
    later = apply_config(gw.client.app, config_from_text(config_yaml(new), "new.yaml", SOURCES))
    assert later == [
        "listen",
        "admin_listen",
        "settings",
        "customer_portal.session_key",
        "proxy timeouts and pool",
    ]
    running = handler.config
    assert (running.listen_port, running.admin_listen) == (gw.config.listen_port, None)
    assert running.settings == gw.config.settings
    assert running.customer_portal.session_key == SESSION_KEY.encode()
    assert (running.customer_portal.retry_after, running.proxy.via) == (7, "renamed")
    assert handler.forwarder is not None and handler.forwarder.proxy.via == "renamed"
    async with gw.client.get("/enroll") as resp:
        assert resp.status == 404
    async with gw.client.get("/office/x") as resp:
        assert resp.status == 200
    assert up.seen[-1].header("Via")[-1].endswith(" renamed")  # the new pseudonym, at once


async def test_an_unchanged_config_needs_no_restart(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    gw = await gateway((await upstream()).url)
    assert apply_config(gw.client.app, gw.config) == []
