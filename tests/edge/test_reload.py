"""SIGHUP: the re-read config reaches every reader at once, on both listeners."""

from __future__ import annotations

import logging
from dataclasses import replace

import aiohttp
import pytest
from aiohttp import web

from gateway.config import parse_config
from gateway.edge.handler import GATEWAY
from gateway.edge.keys import ADMIN_APP, CONNECTIONS, RUNTIME
from gateway.edge.reload import apply_config
from gateway.edge.server import GatewayServer, make_runner
from tests.conftest import StartGateway, StartUpstream, config_text
from tests.processes import free_port

OFFICE_ONLY = (
    "routes:\n  - name: office\n    paths: [/office]\n    upstream: portal\n    portal: office\n"
)


async def test_a_reloaded_config_reaches_the_handler_the_admin_listener_and_our_answers(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    admin_port = free_port()
    extra = f"admin_listen: 127.0.0.1:{admin_port}\n"
    gw = await gateway(up.url, extra)
    app = gw.client.app
    admin = make_runner(app[ADMIN_APP], gw.config)
    await admin.setup()
    await web.TCPSite(admin, "127.0.0.1", admin_port).start()
    admin_url = f"http://127.0.0.1:{admin_port}"
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(admin_url + "/_gateway/healthz") as resp:
                assert resp.status == 200
            changed = extra + "admin_prefix: /_edge\nproxy:\n  server_header: edge-1\n"
            new = parse_config(config_text(up.url, changed, OFFICE_ONLY), "test.yaml")
            assert GatewayServer(app, gw.config).reload(new) == []
            assert app[RUNTIME].runtime.config.admin_prefix == "/_edge"
            # The handler: the customer route is gone; the gateway's answer names the new Server.
            async with gw.client.get("/enroll") as resp:
                assert resp.status == 404
                assert resp.headers["Server"] == "edge-1"
            async with gw.client.get("/office/x") as resp:
                assert resp.status == 200
            # The admin listener: the new prefix answers, the old one is 404.
            async with session.get(admin_url + "/_edge/healthz") as resp:
                assert resp.status == 200
                assert resp.headers["Server"] == "edge-1"
            async with session.get(admin_url + "/_gateway/healthz") as resp:
                assert resp.status == 404
    finally:
        await admin.cleanup()


async def test_what_needs_a_restart_is_named_and_keeps_its_running_value(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    app = gw.client.app
    new = parse_config(config_text(up.url, "proxy:\n  read_timeout: 7s\n"), "test.yaml")
    moved = replace(
        new,
        listen_port=gw.config.listen_port + 1,
        admin_listen=("127.0.0.1", 9),
        settings=replace(new.settings, source="file:///elsewhere.json"),
        customer_portal=replace(new.customer_portal, session_key=b"k" * 32),
    )
    assert apply_config(app, moved) == [
        "listen",
        "admin_listen",
        "settings",
        "customer_portal.session_key",
        "proxy timeouts and pool",
    ]
    running = app[RUNTIME].runtime.config
    assert running.listen_port == gw.config.listen_port
    assert running.admin_listen is None
    assert running.settings == gw.config.settings
    assert running.customer_portal.session_key == gw.config.customer_portal.session_key
    # The forwarder reads its per-request settings (client_max_size, ...) from the new config.
    forwarder = app[GATEWAY].forwarder
    assert forwarder is not None and forwarder.proxy is running.proxy


async def test_the_public_listener_serves_the_reloaded_prefix_and_drains_by_the_reloaded_delay(
    upstream: StartUpstream, gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "gateway")
    up = await upstream()
    gw = await gateway(up.url)
    server = GatewayServer(gw.client.app, gw.config)
    changed = "admin_prefix: /_edge\nproxy:\n  drain_delay: 200ms\n"
    assert server.reload(parse_config(config_text(up.url, changed), "test.yaml")) == []
    async with gw.client.get("/_edge/healthz") as resp:
        assert resp.status == 200
    async with gw.client.get("/_gateway/healthz") as resp:
        assert resp.status == 200  # no longer reserved: the customer route forwards it
    assert [seen.raw_path for seen in up.seen] == ["/_gateway/healthz"]
    await server.drain()
    assert "draining: readiness 503; still accepting for 0.2s" in caplog.text


async def test_the_connection_bound_keeps_its_running_value_until_a_restart(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url, {"proxy": {"max_connections": 50}})
    app = gw.client.app
    new = parse_config(config_text(up.url, "proxy:\n  max_connections: 70\n"), "test.yaml")
    assert apply_config(app, new) == ["proxy timeouts and pool"]
    assert app[CONNECTIONS].limit == 50


async def test_the_access_log_keeps_its_form_and_takes_log_query_at_once(
    upstream: StartUpstream, gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "gateway.access")
    up = await upstream()
    gw = await gateway(up.url)  # the fixture's access log is JSON
    app = gw.client.app
    same = parse_config(config_text(up.url, {"log_format": "json", "log_query": True}), "t.yaml")
    assert apply_config(app, same) == []
    async with gw.client.get("/office/a?page=2") as resp:
        assert resp.status == 200
    assert [line["path"] for line in gw.access_json()] == ["/office/a?page=2"]
    other = parse_config(config_text(up.url, {"log_format": "text"}), "t.yaml")
    assert apply_config(app, other) == ["log_format"]
    assert app[RUNTIME].runtime.config.log_format is None  # as the fixture's config had it
    # A file without the key says nothing: the running form is whatever start-up chose.
    assert apply_config(app, parse_config(config_text(up.url), "t.yaml")) == []


async def test_a_reloaded_schedule_reaches_the_poller_at_its_next_publish(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    window = {"from": "2000-01-01T00:00:00Z", "to": "2999-01-01T00:00:00+01:00", "message": "x"}
    new = parse_config(config_text(up.url, portal={"schedule": [window]}), "test.yaml")
    assert apply_config(gw.client.app, new) == []
    await gw.poller.refresh()
    assert (gw.poller.state.enabled, gw.poller.state.cause) == (False, "schedule")
    async with gw.client.get("/account") as resp:
        assert resp.status == 503
