"""Proxy properties under failure: refused, slow and silent upstreams, pooled connections
that went stale, client disconnects, oversized upstream heads and Expect. Against real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.edge.keys import SESSION
from tests.conftest import Gateway, StartGateway, StartUpstream
from tests.rawhttp import (
    RawConnection,
    connect,
    raw_request,
    raw_upstream,
    read_response,
    read_until_closed,
)

GET = b"GET /x HTTP/1.1\r\nHost: portal.example\r\n\r\n"


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@contextlib.contextmanager
def blackhole() -> Iterator[int]:
    """A port whose accept queue is full: the kernel drops new SYNs, so connects hang."""
    listener = socket.socket()
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port: int = listener.getsockname()[1]
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def open_upstream_connections(gw: Gateway) -> int:
    server = gw.client.server
    assert isinstance(server, TestServer)
    connector = server.app[SESSION].connector
    assert isinstance(connector, aiohttp.TCPConnector)
    idle = sum(len(conns) for conns in connector._conns.values())
    return len(connector._acquired) + idle


async def test_refused_connection_gives_502(gateway: StartGateway) -> None:
    gw = await gateway(f"http://127.0.0.1:{free_port()}")
    answer = await raw_request(gw.port, GET)
    assert answer.status == 502


async def test_connect_past_connect_timeout_gives_502_or_504_within_it(
    gateway: StartGateway,
) -> None:
    with blackhole() as port:
        gw = await gateway(f"http://127.0.0.1:{port}", "proxy:\n  connect_timeout: 0.3s\n")
        # The default connect timeout is 5 s; this deadline only holds if 0.3 s is applied.
        async with asyncio.timeout(3):
            answer = await raw_request(gw.port, GET)
    assert answer.status in (502, 504)


async def test_silent_upstream_before_headers_gives_504(gateway: StartGateway) -> None:
    async def silent(conn: RawConnection) -> None:
        await conn.request()
        await conn.wait_peer_close()

    async with raw_upstream(silent) as up:
        gw = await gateway(up.url, "proxy:\n  read_timeout: 0.3s\n")
        async with asyncio.timeout(5):
            answer = await raw_request(gw.port, GET)
    assert answer.status == 504


async def test_silent_upstream_after_headers_aborts_the_client_connection(
    gateway: StartGateway,
) -> None:
    async def stalls(conn: RawConnection) -> None:
        await conn.request()
        await conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        await conn.wait_peer_close()

    async with raw_upstream(stalls) as up:
        gw = await gateway(up.url, "proxy:\n  read_timeout: 0.3s\n")
        async with connect(gw.port) as (reader, writer):
            writer.write(GET)
            data, closed = await read_until_closed(reader, timeout=5)
        [conn] = up.connections
        async with asyncio.timeout(2):
            await conn.closed_by_peer.wait()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert body == b"partial"
    assert closed


async def test_post_is_not_resent_when_the_pooled_connection_was_stale(
    gateway: StartGateway,
) -> None:
    async def stale_after_first(conn: RawConnection) -> None:
        if conn.index == 0:
            await conn.request()
            await conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            # The next request on this kept-alive connection is read, then the connection is
            # closed unanswered: what an upstream closing an idle connection looks like.
            await conn.request()
            return
        while await conn.request() is not None:
            await conn.send(b"HTTP/1.1 201 Created\r\nContent-Length: 9\r\n\r\nduplicate")

    async with raw_upstream(stale_after_first) as up:
        gw = await gateway(up.url)
        async with connect(gw.port) as (reader, writer):
            writer.write(b"GET /warm HTTP/1.1\r\nHost: portal.example\r\n\r\n")
            warm = await read_response(reader)
            assert warm.body == b"ok"
            writer.write(
                b"POST /order HTTP/1.1\r\nHost: portal.example\r\nContent-Length: 7\r\n\r\norder=1"
            )
            async with asyncio.timeout(5):
                order = await read_response(reader)
        posts = [r for r in up.requests if r.method == "POST"]
    assert len(posts) == 1, "the POST reached the upstream twice"
    assert order.status == 502


async def test_upstream_cookie_is_never_sent_on_another_clients_request(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    async def login(request: web.Request) -> web.StreamResponse:
        response = web.Response(text="welcome alice")
        response.set_cookie("portal_session", "alice-secret", path="/")
        return response

    up = await upstream({"/login": login})
    # A host name, not an IP: aiohttp's cookie jar ignores cookies from IP addresses, which
    # would hide a leaking jar.
    gw = await gateway(f"http://localhost:{up.server.port}")
    alice = await gw.client.get("/login")
    assert "alice-secret" in alice.headers["Set-Cookie"]
    alice.release()
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as bob,
        bob.get(f"http://127.0.0.1:{gw.port}/account") as resp,
    ):
        assert resp.status == 200
    _login, bob_seen = up.seen
    assert bob_seen.raw_path == "/account"
    assert bob_seen.header("cookie") == []


async def test_client_disconnect_closes_upstream_and_pool_returns_to_baseline(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    upstream_gone = asyncio.Event()

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        try:
            for _ in range(400):  # 20 s at most
                await response.write(b"tick\n")
                await asyncio.sleep(0.05)
        except (ConnectionError, asyncio.CancelledError):
            # The test server cancels a handler whose client went away; either way it is gone.
            upstream_gone.set()
            raise
        return response

    up = await upstream({"/stream": endless})
    gw = await gateway(up.url)
    baseline = open_upstream_connections(gw)
    async with connect(gw.port) as (reader, writer):
        writer.write(b"GET /stream HTTP/1.1\r\nHost: portal.example\r\n\r\n")
        await reader.readuntil(b"tick\n")
        assert open_upstream_connections(gw) == baseline + 1
    # The client is gone: within 1 s the upstream connection must be closed and not pooled.
    async with asyncio.timeout(1):
        await upstream_gone.wait()
        while open_upstream_connections(gw) != baseline:
            await asyncio.sleep(0.01)


@pytest.mark.parametrize(
    "headers",
    [
        [("Content-Security-Policy", "default-src 'self' " + "x" * 32768)],
        [(f"X-Header-{i}", str(i)) for i in range(200)],
    ],
    ids=["32k-field", "200-fields"],
)
async def test_oversized_upstream_header_section_is_a_logged_502(
    upstream: StartUpstream,
    gateway: StartGateway,
    caplog: pytest.LogCaptureFixture,
    headers: list[tuple[str, str]],
) -> None:
    async def huge(request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok", headers=headers)

    up = await upstream({"/huge": huge})
    gw = await gateway(up.url)
    with caplog.at_level(logging.WARNING, logger="gateway.proxy"):
        answer = await raw_request(gw.port, b"GET /huge HTTP/1.1\r\nHost: portal.example\r\n\r\n")
    assert answer.status == 502
    assert b"Traceback" not in answer.body
    assert any(
        r.name == "gateway.proxy" and "upstream portal" in r.getMessage() for r in caplog.records
    )
    # And the gateway still serves.
    assert (await raw_request(gw.port, GET)).status == 200


async def test_expect_100_continue_completes_against_an_upstream_that_never_sends_100(
    gateway: StartGateway,
) -> None:
    async def created(conn: RawConnection) -> None:
        while await conn.request() is not None:
            await conn.send(b"HTTP/1.1 201 Created\r\nContent-Length: 7\r\n\r\ncreated")

    async with raw_upstream(created) as up:
        gw = await gateway(up.url)
        async with connect(gw.port) as (reader, writer):
            writer.write(
                b"POST /x HTTP/1.1\r\nHost: portal.example\r\nExpect: 100-continue\r\n"
                b"Content-Length: 5\r\n\r\n"
            )
            # The body is held back until 100 Continue arrives, as curl does (but without
            # curl's 1 s give-up, so a gateway that never answers Expect hangs here).
            async with asyncio.timeout(5):
                interim = await read_response(reader)
            assert interim.status == 100
            writer.write(b"hello")
            async with asyncio.timeout(5):
                final = await read_response(reader)
        [seen] = up.requests
    assert final.status == 201
    assert final.body == b"created"
    assert seen.body == b"hello"
    assert seen.header("expect") == []


async def test_upstream_credentials_never_reach_the_log(
    gateway: Callable[..., Awaitable[Gateway]], caplog: pytest.LogCaptureFixture
) -> None:
    gw = await gateway("http://svc:s3cr3t-pass@127.0.0.1:1")
    async with gw.client.get("/office/x") as resp:
        assert resp.status == 502
    assert "svc:***@127.0.0.1:1" in caplog.text
    assert "s3cr3t-pass" not in caplog.text
