"""The edge middlewares: every exchange counted and logged once, unroutable targets answered by
the gateway, and the gateway's own answers named."""

from __future__ import annotations

import logging

import pytest

from gateway.web.decisions import decision_of
from tests.conftest import StartGateway, StartUpstream, raw_exchange


def _status(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])


@pytest.mark.parametrize(
    ("request_bytes", "line", "status", "reason"),
    [
        (
            b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
            ("CONNECT", "a:443"),
            405,
            "refused_405",
        ),
        (b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", ("OPTIONS", "*"), 400, "refused_400"),
    ],
    ids=["authority-form", "asterisk-form"],
)
async def test_targets_the_router_cannot_match_get_the_gateways_answer_counted_and_logged(
    upstream: StartUpstream,
    gateway: StartGateway,
    caplog: pytest.LogCaptureFixture,
    request_bytes: bytes,
    line: tuple[str, str],
    status: int,
    reason: str,
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    caplog.set_level(logging.INFO, "gateway.access")
    reply = await raw_exchange(gw.port, request_bytes, read_timeout=3)
    # aiohttp's router would have answered 404 with its own Server header.
    assert _status(reply) == status
    assert b"\r\nServer: portal-gateway\r\n" in reply.split(b"\r\n\r\n")[0]
    [access] = gw.access_json()
    assert (access["client"], access["method"], access["path"]) == ("127.0.0.1", *line)
    assert (access["status"], access["route"], access["reason"]) == (status, "-", reason)
    assert access["decision"] == "refused"
    async with gw.client.get("/_gateway/metrics") as resp:
        metrics = await resp.text()
    # No route: portal "-"; the reason is counted as refused.
    assert decision_of(reason) == "refused"
    refused = 'portal_gateway_requests_total{decision="refused",portal="-",route="-"} 1.0'
    assert refused in metrics
    assert up.seen == []


async def test_the_admin_answer_on_the_public_listener_is_logged_not_counted(
    upstream: StartUpstream, gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    caplog.set_level(logging.INFO, "gateway.access")
    async with gw.client.get("/_gateway/healthz") as resp:
        assert resp.status == 200
    async with gw.client.get("/_gateway/metrics") as resp:
        metrics = await resp.text()
    # The reserved endpoints are the gateway's own answers (the scrape among them): logged,
    # never counted as requests.
    assert 'route="admin"' not in metrics
    assert "# TYPE portal_gateway_requests_total counter" in metrics
    access = gw.access_json()
    assert (access[0]["method"], access[0]["path"], access[0]["status"]) == (
        "GET",
        "/_gateway/healthz",
        200,
    )
    assert (access[0]["route"], access[0]["decision"]) == ("admin", "admin")


async def test_an_unreadable_head_is_answered_400_and_neither_counted_nor_logged(
    upstream: StartUpstream, gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    caplog.set_level(logging.INFO, "gateway.access")
    reply = await raw_exchange(
        gw.port, b"GET / HTTP/1.1\r\nHost: a\r\nX-Odd: \xff\r\nConnection: close\r\n\r\n"
    )
    assert _status(reply) == 400
    assert gw.access_lines() == []
    async with gw.client.get("/_gateway/metrics") as resp:
        assert "portal_gateway_requests_total{" not in await resp.text()
