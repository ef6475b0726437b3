"""The admin listener's own application: the reserved endpoints, and the gateway's 404 for
everything else, targets aiohttp's router cannot match included."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from gateway.edge.keys import ADMIN_APP
from gateway.edge.server import make_runner
from tests.conftest import Gateway, StartGateway, StartUpstream, raw_exchange
from tests.processes import free_port


@pytest.fixture
async def admin_gateway(upstream: StartUpstream, gateway: StartGateway) -> AsyncIterator[Gateway]:
    up = await upstream()
    port = free_port()
    gw = await gateway(up.url, f"admin_listen: 127.0.0.1:{port}\n")
    runner = make_runner(gw.client.app[ADMIN_APP], gw.config)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield gw
    await runner.cleanup()


@pytest.fixture
def admin_port(admin_gateway: Gateway) -> int:
    assert admin_gateway.config.admin_listen is not None
    return admin_gateway.config.admin_listen[1]


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /_gateway/healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 200),
        (b"GET /enroll HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 404),
        (b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nConnection: close\r\n\r\n", 404),
        (b"OPTIONS * HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 404),
    ],
    ids=["reserved", "proxied-path", "authority-form", "asterisk-form"],
)
async def test_the_admin_listener_serves_the_reserved_endpoints_and_proxies_nothing(
    admin_gateway: Gateway,
    admin_port: int,
    caplog: pytest.LogCaptureFixture,
    request_bytes: bytes,
    status: int,
) -> None:
    caplog.set_level(logging.INFO, "gateway.access")
    reply = await raw_exchange(admin_port, request_bytes, read_timeout=3)
    head = reply.split(b"\r\n\r\n")[0]
    assert int(head.split(b" ", 2)[1]) == status
    assert b"\r\nServer: portal-gateway\r\n" in head
    [access] = admin_gateway.access_json()
    reserved = status == 200
    route = "admin" if reserved else "-"  # nothing but the reserved endpoints is routed here
    assert (access["status"], access["route"], access["portal"]) == (status, route, route)
    assert access["decision"] == ("admin" if reserved else "refused")
