"""The reserved prefix: recognised on the canonical path, served only in its exact form."""

from __future__ import annotations

import pytest
from pytest_aiohttp import AiohttpClient

from gateway.edge.keys import ADMIN_APP
from tests.conftest import StartGateway, StartUpstream, raw_exchange


@pytest.mark.parametrize(
    ("target", "status"),
    [
        ("/_gateway/healthz", 200),
        ("/_gateway/healthz?probe=1", 200),
        ("/_GATEWAY/healthz", 404),
        ("/_Gateway/metrics", 404),
        ("/%5Fgateway/healthz", 404),
        ("/_gateway%2Fhealthz", 400),
        ("/_gateway", 404),
        ("/_gateway?x=1", 404),
        ("/_gateway/nothing-here", 404),
        ("http://a/_gateway/healthz", 404),
        ("http://a/_GATEWAY/metrics", 404),
    ],
)
async def test_no_spelling_of_the_prefix_reaches_the_upstream(
    upstream: StartUpstream, gateway: StartGateway, target: str, status: int
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    reply = await raw_exchange(
        gw.port, f"GET {target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".encode()
    )
    assert reply.startswith(f"HTTP/1.1 {status} ".encode()), reply[:80]
    assert up.seen == []


@pytest.mark.parametrize(
    ("extra", "path", "status"),
    [
        # The default: every reserved endpoint on the admin listener, only the probes here.
        ({}, "/_gateway/healthz", 200),
        ({}, "/_gateway/readyz", 200),
        ({}, "/_gateway/metrics", 404),
        ({}, "/_gateway/decision", 404),
        ({}, "/_gateway/decision/pay", 404),
        ({"admin_public": True}, "/_gateway/metrics", 200),
        ({"admin_public": True}, "/_gateway/decision", 403),  # served: no forward_auth.proxy
    ],
)
async def test_the_public_listener_serves_only_the_probes_beside_an_admin_listener(
    upstream: StartUpstream, gateway: StartGateway, extra: dict[str, object], path: str, status: int
) -> None:
    up = await upstream()
    gw = await gateway(up.url, {"admin_listen": "127.0.0.1:1", **extra})
    reply = await raw_exchange(
        gw.port, f"GET {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".encode()
    )
    assert reply.startswith(f"HTTP/1.1 {status} ".encode()), reply[:80]
    assert up.seen == []


async def test_the_state_endpoints_are_off_the_public_listener_by_default(
    upstream: StartUpstream, gateway: StartGateway, aiohttp_client: AiohttpClient
) -> None:
    up = await upstream()
    # No admin_listen, no admin_public: the defaults (the fixture binds no admin port, so
    # 127.0.0.1:8082 stays free; the admin application is driven on a port of its own below).
    gw = await gateway(up.url, {"admin_listen": None})
    assert (gw.config.admin_listen, gw.config.admin_public) == (("127.0.0.1", 8082), False)
    for path, status in (
        ("/_gateway/healthz", 200),
        ("/_gateway/readyz", 200),
        ("/_gateway/metrics", 404),
        ("/_gateway/decision", 404),
        ("/_gateway/decision/pay?x=1", 404),
        ("/_gateway/metrics?format=text", 404),
    ):
        async with gw.client.get(path) as resp:
            assert resp.status == status, path
            assert "portal_gateway" not in await resp.text()
    admin = await aiohttp_client(gw.client.app[ADMIN_APP])
    for path, status in (("/_gateway/healthz", 200), ("/_gateway/metrics", 200)):
        async with admin.get(path) as resp:
            assert resp.status == status, path
    async with admin.get("/_gateway/metrics") as resp:
        assert "portal_gateway_customer_portal_enabled 1" in await resp.text()
    assert up.seen == []
