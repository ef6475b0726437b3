"""A customer WebSocket is held by the gate from its handshake to its close (gateway/edge/websocket.py).

The portal flips at each step of the handshake: while the upstream has not answered 101 (the
client gets the unavailable page), and while the client's own 101 is being sent (the relay is
closed with 1013 the moment it exists). Open relays get 1013 (tests/behaviour/test_portal_gate.py).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from gateway.app import create_app
from gateway.config import config_from_text
from gateway.settings.poller import Poller
from gateway.testing import MemorySource
from tests.conftest import GatewayTestServer, Handler, StartGateway, StartUpstream, config_text


@dataclass
class Side:
    """What the upstream WebSocket handler saw."""

    entered: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    outcome: str = "running"
    close_code: int | None = None


def _ws_upstream(side: Side, *, wait_before_101: bool) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        side.entered.set()
        try:
            if wait_before_101:
                await side.release.wait()
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            async for msg in ws:
                await ws.send_str(f"echo {msg.data}")
            side.outcome, side.close_code = "closed", ws.close_code
            return ws
        except asyncio.CancelledError:
            side.outcome = "abandoned"  # the gateway closed the connection mid-handshake
            raise
        finally:
            side.closed.set()

    return handler


async def test_a_disable_during_the_upstream_handshake_answers_the_unavailable_page(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    side = Side()
    up = await upstream({"/live": _ws_upstream(side, wait_before_101=True)})
    gw = await gateway(up.url)
    opening = asyncio.create_task(gw.client.ws_connect("/live/spaces"))
    await asyncio.wait_for(side.entered.wait(), 5)
    await gw.set_enabled(False)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await asyncio.wait_for(opening, 5)
    assert refused.value.status == 503
    assert refused.value.headers is not None
    assert refused.value.headers["Retry-After"] == "120"
    await asyncio.wait_for(side.closed.wait(), 5)
    assert side.outcome == "abandoned"
    async with gw.client.get("/_gateway/metrics") as resp:
        text = await resp.text()
    assert 'portal_gateway_open_connections{kind="customer_exchanges"} 0.0' in text
    # The refused handshake was cut in flight: counted as blocked.
    blocked = 'portal_gateway_requests_total{decision="blocked",portal="customer",route="customer"}'
    assert f"{blocked} 1.0" in text


async def test_a_disable_while_the_clients_101_is_sent_closes_with_1013_at_once(
    upstream: StartUpstream, aiohttp_client: AiohttpClient
) -> None:
    side = Side()
    up = await upstream({"/live": _ws_upstream(side, wait_before_101=False)})
    config = config_from_text(config_text(up.url), "test.yaml")
    source = MemorySource(True)
    poller = Poller(source, config.settings, jitter=lambda ttl: 0.0)
    app = create_app(config, poller=poller)

    async def flip_mid_handshake(request: web.Request, response: web.StreamResponse) -> None:
        # Runs inside the gateway's prepare() of the client's 101, before it is written.
        if isinstance(response, web.WebSocketResponse):
            source.set(False)
            await poller.refresh()

    app.on_response_prepare.append(flip_mid_handshake)
    client: TestClient[web.Request, None] = await aiohttp_client(GatewayTestServer(app, config))
    await poller.refresh()
    async with client.ws_connect("/live/spaces") as ws:
        msg = await asyncio.wait_for(ws.receive(), 5)
        assert (msg.type, ws.close_code) == (aiohttp.WSMsgType.CLOSE, 1013)
    await asyncio.wait_for(side.closed.wait(), 5)
    assert (side.outcome, side.close_code) == ("closed", 1013)


async def test_an_office_websocket_handshake_in_progress_passes_the_switch(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    side = Side()
    up = await upstream({"/office/live": _ws_upstream(side, wait_before_101=True)})
    gw = await gateway(up.url)
    opening = asyncio.create_task(gw.client.ws_connect("/office/live"))
    await asyncio.wait_for(side.entered.wait(), 5)
    await gw.set_enabled(False)
    side.release.set()
    async with await asyncio.wait_for(opening, 5) as ws:
        await ws.send_str("hi")
        assert (await asyncio.wait_for(ws.receive(), 5)).data == "echo hi"


async def test_an_upstream_refusal_reaches_the_client_as_its_status_and_is_forgotten(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    async def refuse(request: web.Request) -> web.StreamResponse:
        return web.Response(status=403, text="no")

    up = await upstream({"/live": refuse})
    gw = await gateway(up.url)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await gw.client.ws_connect("/live/spaces")
    assert refused.value.status == 403
    async with gw.client.get("/_gateway/metrics") as resp:
        assert 'portal_gateway_open_connections{kind="customer_exchanges"} 0.0' in await resp.text()
