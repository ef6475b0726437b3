"""PROXY_CHECKLIST.md items 15-30: targets, methods, bodies and framing."""

from __future__ import annotations

import asyncio
import gzip
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from tests.conftest import Gateway, Upstream, raw_exchange

StartUpstream = Callable[..., Awaitable[Upstream]]
StartGateway = Callable[..., Awaitable[Gateway]]


async def _raw(gw: Gateway, data: bytes, timeout: float = 3) -> bytes:
    return await raw_exchange(gw.port, data, read_timeout=timeout)


async def raw_upstream(reply: bytes) -> tuple[asyncio.Server, int, list[bytes]]:
    """An upstream that answers every request with exactly `reply` and then closes."""
    received: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], received


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def test_15_target_arrives_byte_identical(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url, "proxy:\n  escaped_slashes: keep\n")
    target = "/a%2Fb/c%28d%29?q=%2F%28x%29&r=a+b"
    reply = await _raw(
        gw, f"GET {target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".encode()
    )
    assert reply.startswith(b"HTTP/1.1 200")
    assert up.seen[-1].raw_path == target


@pytest.mark.parametrize(
    "target", ["/public/../office", "//office", "/public/%2e%2e/office", "/public%2f..%2foffice"]
)
async def test_16_dot_and_empty_segments_cannot_bypass(
    upstream: StartUpstream, gateway: StartGateway, target: str
) -> None:
    up = await upstream()
    gw = await gateway(up.url, enabled=False)
    reply = await _raw(
        gw, f"GET {target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".encode()
    )
    assert reply.startswith(b"HTTP/1.1 400")
    assert up.seen == []


async def test_17_unknown_methods_and_statuses_pass_connect_refused(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    async def odd(request: web.Request) -> web.StreamResponse:
        return web.Response(status=int(request.query["s"]), text="odd")

    up = await upstream({"/odd": odd})
    gw = await gateway(up.url)
    for method in ("PURGE", "PROPFIND"):
        async with gw.client.request(method, "/odd?s=299") as resp:
            assert resp.status == 299
        assert up.seen[-1].method == method
    async with gw.client.get("/odd?s=599") as resp:
        assert resp.status == 599
    reply = await _raw(
        gw, b"CONNECT portal.example:443 HTTP/1.1\r\nHost: portal.example:443\r\n\r\n"
    )
    assert reply.split(b"\r\n")[0] in (
        b"HTTP/1.1 405 Method Not Allowed",
        b"HTTP/1.1 400 Bad Request",
    )
    assert len(up.seen) == 3


async def test_18_gzip_response_untouched(upstream: StartUpstream, gateway: StartGateway) -> None:
    body = gzip.compress(b"hello " * 1000)

    async def zipped(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=body, headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"}
        )

    up = await upstream({"/z": zipped})
    gw = await gateway(up.url)
    async with gw.client.get("/z", headers={"Accept-Encoding": "gzip"}) as resp:
        assert resp.headers["Content-Encoding"] == "gzip"
        assert resp.headers["Content-Length"] == str(len(body))
        assert await resp.read() == body


async def test_19_gzip_request_body_untouched(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    body = gzip.compress(b"enroll " * 500)
    async with gw.client.post("/x", data=body, headers={"Content-Encoding": "gzip"}) as resp:
        assert resp.status == 200
    seen = up.seen[-1]
    assert seen.body == body
    assert seen.header("Content-Encoding") == ["gzip"]
    assert seen.header("Content-Length") == [str(len(body))]


async def test_20_no_invented_request_headers(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    await _raw(
        gw, b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
    )
    names = {k.lower() for k, _ in up.seen[-1].headers}
    assert not names & {"accept-encoding", "user-agent", "accept", "content-type"}


async def test_21_content_length_kept_chunked_kept(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    await _raw(
        gw, b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
    )
    seen = up.seen[-1]
    assert seen.header("Content-Length") == ["5"] and seen.header("Transfer-Encoding") == []
    await _raw(
        gw,
        b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
    )
    seen = up.seen[-1]
    assert seen.body == b"abcde"
    assert not (seen.header("Content-Length") and seen.header("Transfer-Encoding"))


@pytest.mark.parametrize(
    ("head", "statuses"),
    [
        (b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n", (b"400",)),
        (b"Transfer-Encoding: gzip, chunked\r\n", (b"400", b"501")),
    ],
)
async def test_22_smuggling_shapes_refused_and_closed(
    upstream: StartUpstream, gateway: StartGateway, head: bytes, statuses: tuple[bytes, ...]
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    reply = await _raw(
        gw,
        b"POST /x HTTP/1.1\r\nHost: a\r\n"
        + head
        + b"\r\n0\r\n\r\nGET /office HTTP/1.1\r\nHost: a\r\n\r\n",
    )
    assert reply.split(b" ")[1] in statuses
    assert reply.count(b"HTTP/1.") == 1  # connection closed: the smuggled request never ran
    assert up.seen == []


async def test_23_body_limit_even_when_streamed(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url, "proxy:\n  client_max_size: 1k\n")
    async with gw.client.post("/x", data=b"x" * 2048) as resp:
        assert resp.status == 413
    assert up.seen == []

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b"y" * 512

    async with gw.client.post("/x", data=chunks()) as resp:
        assert resp.status == 413
    assert all(len(s.body) <= 1024 for s in up.seen)


async def test_24_large_download_streams_with_bounded_memory(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    size = 256 * 1024 * 1024
    block = os.urandom(1024 * 1024)

    async def download(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = size
        await response.prepare(request)
        for _ in range(size // len(block)):
            await response.write(block)
        return response

    up = await upstream({"/big": download})
    gw = await gateway(up.url)
    before = rss_bytes()
    peak = before
    received = 0
    async with gw.client.get("/big") as resp:
        async for chunk in resp.content.iter_chunked(1024 * 1024):
            received += len(chunk)
            if received % (16 * 1024 * 1024) < len(chunk):
                peak = max(peak, rss_bytes())
    assert received == size
    # Upstream, gateway and client share this process: all three together stay bounded.
    assert peak - before < 64 * 1024 * 1024


async def test_25_sse_events_flow_promptly_and_are_not_cut(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    async def events(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for _i in range(6):
            await response.write(f"data: {time.monotonic()}\n\n".encode())
            await asyncio.sleep(0.5)
        return response

    up = await upstream({"/events": events})
    # read_timeout (1 s) is per read, not total: a 3 s stream with events every 0.5 s passes.
    gw = await gateway(up.url, "proxy:\n  read_timeout: 1s\n")
    lags = []
    async with gw.client.get("/events") as resp:
        while line := await resp.content.readline():
            if line.startswith(b"data: "):
                lags.append(time.monotonic() - float(line[6:]))
    assert len(lags) == 6
    # Same-process clock: each event crossed the proxy well inside the 100 ms budget.
    assert max(lags) < 0.1


async def test_26_truncated_upstream_body_aborts_the_client(gateway: StartGateway) -> None:
    server, port, _ = await raw_upstream(
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-twenty-bytes..."
    )
    gw = await gateway(f"http://127.0.0.1:{port}")
    async with gw.client.get("/x") as resp:
        with pytest.raises(aiohttp.ClientPayloadError):
            await resp.read()
    server.close()
    server, port, _ = await raw_upstream(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
    )
    gw = await gateway(f"http://127.0.0.1:{port}")
    reply = await _raw(gw, b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
    assert b"hello" in reply
    assert not reply.endswith(b"0\r\n\r\n")  # no clean terminating chunk
    server.close()


async def test_27_head_keeps_length_and_the_connection(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    async def page(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"x" * 1234)

    up = await upstream({"/page": page})
    gw = await gateway(up.url)
    reply = await _raw(
        gw,
        b"HEAD /page HTTP/1.1\r\nHost: a\r\n\r\nGET /page HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    first, _, rest = reply.partition(b"\r\n\r\n")
    assert b"Content-Length: 1234" in first
    assert rest.startswith(b"HTTP/1.1 200")  # no body after HEAD, and the connection served again


async def test_28_204_and_304_carry_no_body(upstream: StartUpstream, gateway: StartGateway) -> None:
    async def empty(request: web.Request) -> web.StreamResponse:
        status = int(request.query["s"])
        return web.Response(status=status, headers={"ETag": '"v1"', "Cache-Control": "max-age=60"})

    up = await upstream({"/e": empty})
    gw = await gateway(up.url)
    reply = await _raw(
        gw,
        b"GET /e?s=204 HTTP/1.1\r\nHost: a\r\n\r\nGET /e?s=304 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    first, _, second = reply.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 204") and b"Transfer-Encoding" not in first
    assert second.startswith(b"HTTP/1.1 304")
    assert b'ETag: "v1"' in second and b"Cache-Control: max-age=60" in second
    assert b"Transfer-Encoding" not in second and second.endswith(b"\r\n\r\n")


async def test_29_no_invented_content_type_or_server(gateway: StartGateway) -> None:
    server, port, _ = await raw_upstream(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\nhi"
    )
    gw = await gateway(f"http://127.0.0.1:{port}")
    reply = await _raw(gw, b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    head = reply.split(b"\r\n\r\n")[0]
    assert b"Content-Type" not in head
    assert b"aiohttp" not in head and b"Server:" not in head
    assert b"Date: Mon, 01 Jan 2024 00:00:00 GMT" in head
    server.close()


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nab",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
    ],
)
async def test_30_invalid_upstream_framing_is_502(gateway: StartGateway, reply: bytes) -> None:
    server, port, _ = await raw_upstream(reply)
    gw = await gateway(f"http://127.0.0.1:{port}")
    async with gw.client.get("/x") as resp:
        assert resp.status == 502
        assert "Traceback" not in await resp.text()
    server.close()
