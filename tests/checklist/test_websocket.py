"""Proxy properties of the WebSocket relay: close codes and reasons, subprotocols, pings and
large messages pass between real peers."""

from __future__ import annotations

import asyncio
import os

import aiohttp
from aiohttp import web

from tests.conftest import StartGateway, StartUpstream

MIB = 1024 * 1024


async def test_upstream_close_code_and_reason_reach_the_client(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    async def bye(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.close(code=4001, message=b"bye")
        return ws

    up = await upstream({"/ws": bye})
    gw = await gateway(up.url)
    async with gw.client.ws_connect("/ws", autoclose=False) as ws:
        async with asyncio.timeout(5):
            msg = await ws.receive()
        assert msg.type == aiohttp.WSMsgType.CLOSE
        assert (msg.data, msg.extra) == (4001, "bye")


async def test_client_close_code_and_reason_reach_the_upstream(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    got: list[tuple[int, str]] = []
    done = asyncio.Event()

    async def record(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoclose=False)
        await ws.prepare(request)
        msg = await ws.receive()
        if msg.type == aiohttp.WSMsgType.CLOSE:
            got.append((msg.data, msg.extra or ""))
        await ws.close()
        done.set()
        return ws

    up = await upstream({"/ws": record})
    gw = await gateway(up.url)
    async with gw.client.ws_connect("/ws") as ws:
        await ws.close(code=4002, message=b"later")
    async with asyncio.timeout(5):
        await done.wait()
    assert got == [(4002, "later")]


async def test_abnormal_upstream_drop_reaches_client_as_1011(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    async def drop(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        assert request.transport is not None
        request.transport.abort()  # no close frame: a crash or a cut network
        return ws

    up = await upstream({"/ws": drop})
    gw = await gateway(up.url)
    async with gw.client.ws_connect("/ws", autoclose=False) as ws:
        async with asyncio.timeout(5):
            msg = await ws.receive()
        assert msg.type == aiohttp.WSMsgType.CLOSE
        assert msg.data == aiohttp.WSCloseCode.INTERNAL_ERROR


async def test_subprotocol_chosen_by_upstream_is_the_one_sent_to_the_client(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    async def choose(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(protocols=("v2.portal",))
        await ws.prepare(request)
        await ws.receive()
        return ws

    up = await upstream({"/ws": choose})
    gw = await gateway(up.url)
    async with gw.client.ws_connect("/ws", protocols=("v1.portal", "v2.portal")) as ws:
        assert ws.protocol == "v2.portal"
    [seen] = up.seen
    offered = {p.strip() for v in seen.header("sec-websocket-protocol") for p in v.split(",")}
    assert offered == {"v1.portal", "v2.portal"}


async def test_ping_payload_comes_back_in_the_pong(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    async def echo(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()  # autoping: answers pings itself
        await ws.prepare(request)
        async for _msg in ws:
            pass
        return ws

    up = await upstream({"/ws": echo})
    gw = await gateway(up.url)
    async with gw.client.ws_connect("/ws", autoping=False) as ws:
        await ws.ping(b"payload-123")
        async with asyncio.timeout(5):
            msg = await ws.receive()
        assert msg.type == aiohttp.WSMsgType.PONG
        assert msg.data == b"payload-123"


async def test_five_mib_message_passes_when_the_limit_allows(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    async def echo(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=8 * MIB)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
        return ws

    up = await upstream({"/ws": echo})
    gw = await gateway(up.url, "proxy:\n  websocket_max_message: 8m\n")
    payload = os.urandom(5 * MIB)
    async with gw.client.ws_connect("/ws", max_msg_size=8 * MIB) as ws:
        await ws.send_bytes(payload)
        async with asyncio.timeout(10):
            msg = await ws.receive()
        assert msg.type == aiohttp.WSMsgType.BINARY
        assert msg.data == payload
