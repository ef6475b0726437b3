"""The portal flips after the gate passed a customer request but before the upstream has it.

The race at classification: the gate allowed while enabled, then the switch lands before the
upstream connection is made, while it is made, after 100 Continue, or while the answer's head
is being sent to the client. The upstream must never get a request it could act on, and the
client never a clean answer from after the switch.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from gateway.app import create_app
from gateway.config import config_from_text
from gateway.edge.keys import SESSION
from gateway.settings.poller import Poller
from gateway.testing import MemorySource
from tests.conftest import (
    Gateway,
    GatewayTestServer,
    StartGateway,
    StartUpstream,
    config_text,
)
from tests.rawhttp import connect, read_response

# The one customer request of the test, cut in flight, is counted as blocked.
IN_FLIGHT = 'portal_gateway_requests_total{decision="blocked",portal="customer",route="customer"}'


async def _flip(gw: Gateway) -> None:
    await gw.set_enabled(False)
    assert gw.poller.state.enabled is False


async def _in_flight_cuts(gw: Gateway) -> str:
    async with gw.client.get("/_gateway/metrics") as resp:
        for line in (await resp.text()).splitlines():
            if line.startswith(IN_FLIGHT):
                return line.rsplit(" ", 1)[1]
    return "0"


async def test_a_disable_before_the_upstream_connection_is_made_forwards_nothing(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    # The race at classification: the gate passed (enabled), then the portal flips while the
    # gateway's upstream client is about to connect.
    up = await upstream()
    gw = await gateway(up.url)
    trace = aiohttp.TraceConfig()

    async def flip_on_start(
        session: aiohttp.ClientSession, ctx: SimpleNamespace, params: object
    ) -> None:
        await _flip(gw)

    trace.on_request_start.append(flip_on_start)
    trace.freeze()
    gw.client.app[SESSION].trace_configs.append(trace)
    async with gw.client.get("/pay", headers={"Cookie": "portal_session=abc"}) as resp:
        assert resp.status == 503
        assert "portal_session=;" in resp.headers["Set-Cookie"]
    assert up.seen == []
    assert await _in_flight_cuts(gw) == "1.0"


async def test_a_disable_after_100_continue_before_the_body_forwards_no_complete_request(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    async with connect(gw.port) as (reader, writer):
        writer.write(
            b"POST /pay HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\nExpect: 100-continue\r\n\r\n"
        )
        await writer.drain()
        assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
        await _flip(gw)
        reply = await asyncio.wait_for(read_response(reader, method="POST"), 5)
    assert (reply.status, reply.header("Connection")) == (503, ["close"])
    assert up.seen == []  # the recording upstream records only a request it read whole


async def test_a_disable_while_the_answers_head_is_sent(
    upstream: StartUpstream, aiohttp_client: AiohttpClient
) -> None:
    up = await upstream()
    config = config_from_text(config_text(up.url), "test.yaml")
    source = MemorySource(True)
    poller = Poller(source, config.settings, jitter=lambda ttl: 0.0)
    app = create_app(config, poller=poller)

    async def flip_mid_head(request: web.Request, response: web.StreamResponse) -> None:
        # Inside the gateway's prepare() of a relayed answer, before its head is written.
        if response.status == 200:
            source.set(False)
            await poller.refresh()

    app.on_response_prepare.append(flip_mid_head)
    client: TestClient[web.Request, None] = await aiohttp_client(GatewayTestServer(app, config))
    await poller.refresh()
    with_body = await client.post("/pay", data=b"card=4242")  # committed: relayed whole
    assert (with_body.status, await with_body.text()) == (200, "upstream saw POST /pay")
    source.set(True)
    await poller.refresh()
    with pytest.raises(aiohttp.ClientError):  # a GET's answer: aborted, never a clean end
        async with client.get("/events") as resp:
            await resp.read()
    assert [s.raw_path for s in up.seen] == ["/pay", "/events"]
