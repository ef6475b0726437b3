"""PROXY_CHECKLIST.md items 31-38: failures, pooling, timeouts and WebSockets."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from gateway.keys import SESSION
from tests.conftest import Gateway, Upstream, raw_exchange

StartUpstream = Callable[..., Awaitable[Upstream]]
StartGateway = Callable[..., Awaitable[Gateway]]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_31_refused_is_502_silence_is_504(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    gw = await gateway(f"http://127.0.0.1:{closed_port()}")
    async with gw.client.get("/x") as resp:
        assert resp.status == 502
        page = await resp.text()
        assert "could not be reached" in page and "Traceback" not in page

    async def silent(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(5)
        return web.Response(text="late")

    up = await upstream({"/slow": silent})
    gw = await gateway(up.url, "proxy:\n  read_timeout: 300ms\n")
    async with gw.client.get("/slow") as resp:
        assert resp.status == 504
        assert "did not answer in time" in await resp.text()


async def test_31b_silence_after_headers_aborts(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    async def stalls(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = 10
        await response.prepare(request)
        await response.write(b"12345")
        await asyncio.sleep(5)
        return response

    up = await upstream({"/stall": stalls})
    gw = await gateway(up.url, "proxy:\n  read_timeout: 300ms\n")
    async with gw.client.get("/stall") as resp:
        assert resp.status == 200
        try:
            await resp.read()
        except aiohttp.ClientPayloadError:
            pass
        else:
            raise AssertionError("a stalled body must abort the client connection")


async def test_32_post_is_never_sent_twice(gateway: StartGateway) -> None:
    hits: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # The first exchange on a connection succeeds (it gets pooled); the next request on it
        # is read in full and then the connection dies without an answer.
        first = True
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            hits.append(head.split(b"\r\n")[0])
            if b"content-length: " in head.lower():
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
            if not first:
                writer.transport.abort()
                return
            first = False
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    gw = await gateway(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
    async with gw.client.get("/warm") as resp:
        assert resp.status == 200
    async with gw.client.post("/pay", data=b"amount=10") as resp:
        assert resp.status == 502  # the customer is told, not charged twice
    assert hits.count(b"POST /pay HTTP/1.1") == 1
    server.close()


async def test_33_upstream_cookies_never_reach_another_client(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    async def login(request: web.Request) -> web.StreamResponse:
        response = web.Response(text="hi")
        response.set_cookie("portal_session", "alice-secret")
        return response

    up = await upstream({"/login": login})
    gw = await gateway(up.url)
    async with gw.client.post("/login"):
        pass
    async with gw.client.get("/home"):
        pass
    assert up.seen[-1].header("Cookie") == []


async def test_34_client_disconnect_closes_the_upstream_connection(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        started.set()
        try:
            while True:
                await response.write(b"x" * 65536)
                await asyncio.sleep(0.01)
        except (ConnectionError, asyncio.CancelledError):
            cancelled.set()
            raise

    up = await upstream({"/endless": endless})
    gw = await gateway(up.url)
    connector = gw.client.app[SESSION].connector if gw.client.app is not None else None
    assert connector is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
    writer.write(b"GET /endless HTTP/1.1\r\nHost: a\r\n\r\n")
    await reader.read(1000)
    await started.wait()
    writer.transport.abort()
    await asyncio.wait_for(cancelled.wait(), 1.0)
    for _ in range(100):
        if not connector._conns and not connector._acquired:
            break
        await asyncio.sleep(0.01)
    assert not connector._acquired


async def test_35_oversized_upstream_headers_are_a_logged_502(gateway: StartGateway) -> None:
    big = b"Content-Security-Policy: " + b"a" * 20000 + b"\r\n"

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\n" + big + b"Content-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    gw = await gateway(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
    async with gw.client.get("/x") as resp:
        assert resp.status == 502
    server.close()


async def test_36_expect_continue_completes_without_an_upstream_100(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
    writer.write(
        b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
    )
    assert (
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3) == b"HTTP/1.1 100 Continue\r\n\r\n"
    )
    writer.write(b"hello")
    rest = await asyncio.wait_for(reader.read(), 3)
    writer.close()
    assert rest.startswith(b"HTTP/1.1 200")
    assert up.seen[-1].body == b"hello"
    assert up.seen[-1].header("Expect") == []


async def _ws_echo(request: web.Request) -> web.StreamResponse:
    ws = web.WebSocketResponse(
        protocols=("v2.portal", "v1.portal"), max_msg_size=8 * 1024 * 1024, autoping=False
    )
    await ws.prepare(request)
    async for msg in ws:
        if msg.type == aiohttp.WSMsgType.PING:
            await ws.pong(msg.data)
        elif msg.type == aiohttp.WSMsgType.TEXT and msg.data == "bye":
            await ws.close(code=4001, message=b"bye")
        elif msg.type == aiohttp.WSMsgType.TEXT and msg.data == "drop":
            assert request.transport is not None
            request.transport.abort()
        elif msg.type == aiohttp.WSMsgType.TEXT:
            await ws.send_str(msg.data)
        elif msg.type == aiohttp.WSMsgType.BINARY:
            await ws.send_bytes(msg.data)
    return ws


async def test_37_close_codes_pass_and_drops_become_1011(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream({"/ws": _ws_echo})
    gw = await gateway(up.url)
    async with gw.client.ws_connect("/ws") as ws:
        await ws.send_str("bye")
        msg = await asyncio.wait_for(ws.receive(), 3)
        assert msg.type == aiohttp.WSMsgType.CLOSE
        assert (ws.close_code, msg.extra) == (4001, "bye")
    async with gw.client.ws_connect("/ws") as ws:
        await ws.send_str("drop")
        msg = await asyncio.wait_for(ws.receive(), 3)
        assert msg.type == aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 1011

    closes: list[int | None] = []

    async def records_close(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for _ in ws:
            pass
        closes.append(ws.close_code)
        return ws

    up2 = await upstream({"/ws": records_close})
    gw2 = await gateway(up2.url)
    async with gw2.client.ws_connect("/ws") as ws:
        await ws.close(code=4002, message=b"client leaves")
    for _ in range(100):
        if closes:
            break
        await asyncio.sleep(0.01)
    assert closes == [4002]


async def test_38_subprotocol_ping_and_large_messages(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream({"/ws": _ws_echo})
    gw = await gateway(up.url, "proxy:\n  websocket_max_message: 8m\n")
    async with gw.client.ws_connect(
        "/ws", protocols=("v1.portal",), autoping=False, max_msg_size=8 * 1024 * 1024
    ) as ws:
        assert ws.protocol == "v1.portal"
        await ws.ping(b"are-you-there")
        msg = await asyncio.wait_for(ws.receive(), 3)
        assert (msg.type, msg.data) == (aiohttp.WSMsgType.PONG, b"are-you-there")
        payload = b"z" * (5 * 1024 * 1024)
        await ws.send_bytes(payload)
        msg = await asyncio.wait_for(ws.receive(), 10)
        assert msg.data == payload
        await ws.send_str("text")
        assert (await ws.receive()).data == "text"


async def test_websocket_refused_upstream_gets_no_tunnel(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    async def refuse(request: web.Request) -> web.StreamResponse:
        return web.Response(status=426, text="upgrade elsewhere")

    up = await upstream({"/ws": refuse})
    gw = await gateway(up.url)
    reply = await raw_exchange(
        gw.port,
        b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        read_timeout=2,
    )
    assert not reply.startswith(b"HTTP/1.1 101")
    assert reply.startswith(b"HTTP/1.1 426")


async def _chunks(count: int, size: int) -> AsyncIterator[bytes]:
    for i in range(count):
        yield bytes([65 + i % 26]) * size


async def test_40_request_id_everywhere_and_in_the_access_log(
    upstream: StartUpstream, gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    caplog.set_level(logging.INFO, logger="gateway.access")
    async with gw.client.get("/x", headers={"X-Request-ID": "spoofed-by-client"}) as resp:
        rid = resp.headers["X-Request-ID"]
        body = await resp.read()
    assert rid != "spoofed-by-client"  # untrusted peers get a fresh id
    assert up.seen[-1].header("X-Request-ID") == [rid]
    line = next(r.getMessage() for r in caplog.records if r.name == "gateway.access")
    assert line.startswith('127.0.0.1 "GET /x HTTP/1.1" 200 ')
    assert f"rid={rid}" in line and "route=customer" in line and "time=" in line
    assert int(line.split()[5]) > len(body)  # bytes sent, headers included (nginx's $bytes_sent)
    trusted = await gateway(up.url, "proxy:\n  trusted_proxies: [127.0.0.1/32]\n")
    async with trusted.client.get("/x", headers={"X-Request-ID": "edge-123"}) as resp:
        assert resp.headers["X-Request-ID"] == "edge-123"
    assert up.seen[-1].header("X-Request-ID") == ["edge-123"]
