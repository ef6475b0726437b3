"""GatewayServer: one process's listeners, started, reloaded, drained and stopped."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import aiohttp
import pytest

from gateway.app import create_app
from gateway.config import Config, parse_config
from gateway.edge.keys import DRAINING, METRICS, SOCKETS
from gateway.edge.protocol import GatewayRunner
from gateway.edge.selfcheck import SELF_CHECK
from gateway.edge.server import AddressInUse, GatewayServer, make_runner, server_options
from tests.conftest import StartUpstream, config_data, config_text, config_yaml
from tests.processes import free_port

OFFICE_ONLY = [{"name": "office", "paths": ["/office"], "upstream": "portal", "portal": "office"}]


def config_at(upstream_url: str, port: int, **extra: Any) -> Config:
    text = config_yaml(config_data(upstream_url, listen=f"127.0.0.1:{port}", **extra))
    return parse_config(text, "t.yaml")


async def status(url: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status


def test_the_server_options_a_proxy_needs() -> None:
    config = parse_config(config_text("http://127.0.0.1:8081"), "t.yaml")
    assert server_options(config) == {
        "handler_cancellation": True,
        "auto_decompress": False,
        "access_log": None,
        "keepalive_timeout": 75.0,
    }
    runner = make_runner(create_app(config), config)
    assert isinstance(runner, GatewayRunner)


async def test_start_serve_reload_drain_stop(upstream: StartUpstream) -> None:
    up = await upstream()
    port = free_port()
    config = config_at(up.url, port)
    app = create_app(config)
    server = GatewayServer(app, config)
    await server.start()
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):  # the first settings read may still be under way: 503 till then
            if await status(f"{base}/enroll") == 200:
                break
            await asyncio.sleep(0.02)
        assert await status(f"{base}/enroll") == 200
        # Routes apply to the next request; a new listen address needs a restart.
        later = server.reload(config_at(up.url, port + 1, routes=OFFICE_ONLY))
        assert later == ["listen"]
        assert await status(f"{base}/enroll") == 404
        assert await status(f"{base}/office/x") == 200
        closed: list[bool] = []

        async def close() -> None:
            closed.append(True)

        app[SOCKETS].add(close)
        await server.drain()
        assert app[DRAINING].active and closed == [True]
        assert await status(f"{base}/_gateway/readyz") == 503
        assert await status(f"{base}/office/x") == 200  # still serving while it drains
    finally:
        await server.stop()
    with pytest.raises(aiohttp.ClientConnectorError):
        await status(f"{base}/office/x")


async def test_a_taken_address_is_named_and_nothing_stays_bound(upstream: StartUpstream) -> None:
    up = await upstream()
    admin_port = free_port()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = config_at(up.url, admin_port, admin_listen=f"127.0.0.1:{port}")
        server = GatewayServer(create_app(config), config)
        with pytest.raises(AddressInUse) as info:
            await server.start()
    # The admin listener's default port is taken on upgrades that never set it: the line says how.
    assert str(info.value) == (
        f"127.0.0.1:{port} is already in use (admin_listen: set another host:port, or none)"
    )
    assert (info.value.host, info.value.port) == ("127.0.0.1", port)
    # The public listener that did bind was released with it.
    with socket.socket() as again:
        again.bind(("127.0.0.1", admin_port))


async def test_the_admin_listener_serves_the_reserved_endpoints_only(
    upstream: StartUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    up = await upstream()
    port, admin_port = free_port(), free_port()
    config = config_at(up.url, port, admin_listen=f"127.0.0.1:{admin_port}")
    server = GatewayServer(create_app(config), config)
    caplog.set_level(logging.INFO, "gateway")
    await server.start()
    try:
        assert await status(f"http://127.0.0.1:{admin_port}/_gateway/healthz") == 200
        assert await status(f"http://127.0.0.1:{admin_port}/_gateway/metrics") == 200
        assert await status(f"http://127.0.0.1:{admin_port}/office/x") == 404
        # The probes answer on both listeners; what reveals state only on the admin one.
        assert await status(f"http://127.0.0.1:{port}/_gateway/healthz") == 200
        assert await status(f"http://127.0.0.1:{port}/_gateway/metrics") == 404
        assert await status(f"http://127.0.0.1:{port}/office/x") == 200
    finally:
        await server.stop()
    assert f"reserved endpoints on http://127.0.0.1:{admin_port}/_gateway/" in caplog.text


async def test_open_client_connections_are_counted_while_the_listener_runs(
    upstream: StartUpstream,
) -> None:
    up = await upstream()
    port = free_port()
    config = config_at(up.url, port)
    app = create_app(config)
    server = GatewayServer(app, config)
    await server.start()
    metrics = app[METRICS]
    clients = {"kind": "client"}
    try:
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(100):  # the accept is the loop's, a moment after the connect
            metrics.sample()
            if metrics.registry.get_sample_value("portal_gateway_open_connections", clients):
                break
            await asyncio.sleep(0.01)
        assert metrics.registry.get_sample_value("portal_gateway_open_connections", clients) == 1
        writer.close()
        await writer.wait_closed()
    finally:
        await server.stop()
    assert "client" not in metrics.connections


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


async def test_a_bare_port_listens_on_every_interface_ipv4_and_ipv6(
    upstream: StartUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    up = await upstream()
    port = free_port()
    config = parse_config(config_yaml(config_data(up.url, listen=port)), "t.yaml")
    assert (config.listen_host, config.listen_port) == ("", port)
    server = GatewayServer(create_app(config), config)
    await server.start()
    try:
        addresses = server.addresses()
        assert f"0.0.0.0:{port}" in addresses
        assert await status(f"http://127.0.0.1:{port}/office/x") == 200
        if ipv6_loopback():
            assert sorted(addresses) == [f"0.0.0.0:{port}", f"[::]:{port}"]
            assert await status(f"http://[::1]:{port}/office/x") == 200
    finally:
        await server.stop()
    if not ipv6_loopback():
        pytest.skip("no IPv6 here: only 127.0.0.1 was checked")


async def test_a_host_listens_on_that_address_only(upstream: StartUpstream) -> None:
    up = await upstream()
    port = free_port()
    config = config_at(up.url, port)
    server = GatewayServer(create_app(config), config)
    await server.start()
    try:
        assert server.addresses() == [f"127.0.0.1:{port}"]
        if ipv6_loopback():
            with pytest.raises(aiohttp.ClientConnectorError):
                await status(f"http://[::1]:{port}/office/x")
    finally:
        await server.stop()
    assert server.addresses() == []


async def test_the_self_check_probes_the_listener_the_server_bound(upstream: StartUpstream) -> None:
    up = await upstream()
    checks = {"self_check": {"customer": "/enroll", "office": "/office/x"}}
    config = config_at(up.url, free_port(), customer_portal=checks)  # merged into the defaults
    app = create_app(config)
    server = GatewayServer(app, config)
    await server.start()
    try:
        checker = app[SELF_CHECK]
        for _ in range(250):  # the first store read, then one request per check
            if checker.rounds:
                break
            await asyncio.sleep(0.02)
        assert {c: r.ok for c, r in checker.results.items()} == {"customer": True, "office": True}
        assert sorted(s.raw_path for s in up.seen) == ["/enroll", "/office/x"]
    finally:
        await server.stop()
