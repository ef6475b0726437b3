"""Proxy properties of response framing: streams arrive promptly and are not cut, a truncated
body aborts the client connection, HEAD/204/304 carry no body, nothing is invented. On the wire."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web

from tests.conftest import StartGateway, StartUpstream
from tests.rawhttp import (
    RawConnection,
    connect,
    raw_request,
    raw_upstream,
    read_response,
    read_until_closed,
    reply,
)

GET = b"GET /x HTTP/1.1\r\nHost: portal.example\r\n\r\n"


def sse_upstream(
    interval: float, count: int
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def events(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for i in range(count):
            await response.write(f"data: {i} {time.monotonic():.6f}\n\n".encode())
            await asyncio.sleep(interval)
        await response.write_eof()
        return response

    return events


@pytest.mark.slow
async def test_sse_events_arrive_promptly(upstream: StartUpstream, gateway: StartGateway) -> None:
    # Sleeps ~3 s: a short version of "one event a second for ten minutes" (15 events).
    up = await upstream({"/events": sse_upstream(0.2, 15)})
    gw = await gateway(up.url, "proxy:\n  read_timeout: 1s\n")
    lags: list[float] = []
    async with gw.client.get("/events") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "text/event-stream"
        while line := await resp.content.readline():
            if line.startswith(b"data: "):
                emitted = float(line.split()[2])
                lags.append(time.monotonic() - emitted)
    assert len(lags) == 15
    assert max(lags) < 0.1, f"slowest event took {max(lags) * 1000:.0f} ms"


@pytest.mark.slow
async def test_long_stream_is_not_cut_by_a_total_timeout(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    # Sleeps ~3 s on purpose: the stream lasts three times `read_timeout`, so a total timeout
    # (aiohttp's default is a 300 s total) set to anything like it would cut the stream.
    up = await upstream({"/events": sse_upstream(0.5, 6)})
    gw = await gateway(up.url, "proxy:\n  read_timeout: 1s\n")
    async with gw.client.get("/events") as resp:
        body = await resp.read()
    assert [line.split()[1] for line in body.split(b"\n\n") if line] == [
        str(i).encode() for i in range(6)
    ]


@pytest.mark.parametrize(
    "truncated",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n",
    ],
    ids=["content-length", "chunked"],
)
async def test_truncated_upstream_body_aborts_the_client_connection(
    gateway: StartGateway, truncated: bytes
) -> None:
    async def cut(conn: RawConnection) -> None:
        await conn.request()
        await conn.send(truncated)
        # then close: fewer bytes than promised, or no final zero-size chunk

    async with raw_upstream(cut) as up:
        gw = await gateway(up.url)
        async with connect(gw.port) as (reader, writer):
            writer.write(GET)
            data, closed = await read_until_closed(reader, timeout=5)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert closed, "a truncated body must not leave the client connection open for reuse"
    assert b"0123456789" in body
    if b"Content-Length" in head:
        assert len(body) < 100
    else:
        assert not body.endswith(b"0\r\n\r\n"), "a clean end was sent for a truncated body"


async def test_head_returns_length_without_body_and_connection_is_reused(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    async def sized(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"z" * 1234, content_type="text/plain")

    up = await upstream({"/sized": sized})
    gw = await gateway(up.url)
    async with connect(gw.port) as (reader, writer):
        writer.write(b"HEAD /sized HTTP/1.1\r\nHost: portal.example\r\n\r\n")
        async with asyncio.timeout(5):
            head = await read_response(reader, method="HEAD")
        assert head.status == 200
        assert head.header("content-length") == ["1234"]
        writer.write(b"GET /sized HTTP/1.1\r\nHost: portal.example\r\n\r\n")
        async with asyncio.timeout(5):
            get = await read_response(reader)
    assert get.status == 200
    assert get.body == b"z" * 1234
    assert [s.method for s in up.seen] == ["HEAD", "GET"]


async def test_204_and_304_have_no_body_and_304_keeps_validators(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    async def no_content(request: web.Request) -> web.StreamResponse:
        return web.Response(status=204)

    async def not_modified(request: web.Request) -> web.StreamResponse:
        return web.Response(
            status=304, headers={"ETag": '"v7"', "Cache-Control": "max-age=60, private"}
        )

    up = await upstream({"/204": no_content, "/304": not_modified})
    gw = await gateway(up.url)
    async with connect(gw.port) as (reader, writer):
        responses = []
        for path in (b"/204", b"/304", b"/after"):
            writer.write(b"GET " + path + b" HTTP/1.1\r\nHost: portal.example\r\n\r\n")
            async with asyncio.timeout(5):
                responses.append(await read_response(reader))
    no, nm, after = responses
    assert no.status == 204
    assert nm.status == 304
    for r in (no, nm):
        assert r.header("transfer-encoding") == []
        assert r.header("content-length") in ([], ["0"])
    assert nm.header("etag") == ['"v7"']
    assert nm.header("cache-control") == ["max-age=60, private"]
    # Any stray body bytes after the 204/304 would have been read as this status line.
    assert after.status == 200
    assert after.body == b"upstream saw GET /after"


async def test_no_invented_content_type_and_upstream_date_server_kept(
    gateway: StartGateway,
) -> None:
    bare = (
        b"HTTP/1.1 200 OK\r\nDate: Mon, 01 Jan 2001 00:00:00 GMT\r\n"
        b"Server: upstream/1.0\r\nContent-Length: 2\r\n\r\nhi"
    )
    async with raw_upstream(reply(bare)) as up:
        gw = await gateway(up.url)
        answer = await raw_request(gw.port, GET)
    assert answer.status == 200
    assert answer.body == b"hi"
    assert answer.header("content-type") == []
    assert answer.header("date") == ["Mon, 01 Jan 2001 00:00:00 GMT"]
    assert answer.header("server") == ["upstream/1.0"]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [("", []), ("proxy:\n  server_header: edge/2\n", ["edge/2"])],
    ids=["none", "configured"],
)
async def test_no_aiohttp_server_banner_when_upstream_sends_none(
    gateway: StartGateway, extra: str, expected: list[str]
) -> None:
    anonymous = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
    async with raw_upstream(reply(anonymous)) as up:
        gw = await gateway(up.url, extra)
        answer = await raw_request(gw.port, GET)
    assert answer.status == 200
    assert answer.header("server") == expected
    assert answer.header("content-type") == []


@pytest.mark.parametrize(
    "invalid",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nxx",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\n\r\n",
    ],
    ids=["two-lengths", "cl-and-te"],
)
async def test_invalid_upstream_framing_gives_502_and_closes_upstream(
    gateway: StartGateway, invalid: bytes
) -> None:
    async def bad(conn: RawConnection) -> None:
        await conn.request()
        await conn.send(invalid)
        await conn.wait_peer_close()

    async with raw_upstream(bad) as up:
        gw = await gateway(up.url)
        answer = await raw_request(gw.port, GET)
        assert answer.status == 502
        [conn] = up.connections
        async with asyncio.timeout(2):
            await conn.closed_by_peer.wait()


async def test_upstream_304_with_transfer_encoding_reaches_client_without_it(
    gateway: StartGateway,
) -> None:
    # RFC 9110 15.4.5 lets a 304 describe the representation it stands for, framing included;
    # the gateway's own 304 still has no body and so no Transfer-Encoding.
    not_modified = (
        b'HTTP/1.1 304 Not Modified\r\nETag: "v7"\r\nCache-Control: max-age=60\r\n'
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    async with raw_upstream(reply(not_modified)) as up:
        gw = await gateway(up.url)
        async with connect(gw.port) as (reader, writer):
            writer.write(GET)
            async with asyncio.timeout(5):
                nm = await read_response(reader)
            writer.write(GET)
            async with asyncio.timeout(5):
                again = await read_response(reader)
    for r in (nm, again):
        assert r.status == 304
        assert r.header("transfer-encoding") == []
        assert r.header("etag") == ['"v7"']
