"""The reserved prefix: recognised on the canonical path, served only in its exact form."""

from __future__ import annotations

import pytest

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


async def test_the_admin_listener_keeps_the_prefix_off_the_public_one(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url, "admin_listen: 127.0.0.1:1\n")
    reply = await raw_exchange(
        gw.port, b"GET /_gateway/healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    )
    assert reply.startswith(b"HTTP/1.1 404 ")
    assert up.seen == []
