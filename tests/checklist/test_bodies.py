"""Proxy properties of targets, methods and bodies: encoded targets arrive byte-identical,
unknown methods pass, gzip passes untouched, framing is never ambiguous, bodies stream with
bounded memory and a limit. Through the real gateway."""

from __future__ import annotations

import asyncio
import gzip
import io
import os
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests.conftest import StartGateway, StartUpstream
from tests.rawhttp import (
    connect,
    parse_head,
    raw_request,
    read_response,
    read_until_closed,
)

# /admin is gated (customer portal, switched off); everything else is public and forwarded.
ADMIN_ROUTES = """\
routes:
  - name: admin
    paths: [/admin]
    upstream: portal
    portal: customer
  - name: rest
    paths: [/]
    upstream: portal
    portal: public
"""


async def test_encoded_target_arrives_byte_identical(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url, "proxy:\n  escaped_slashes: keep\n")
    target = "/a%2Fb/c%28d%29?q=%2F%28x%29&r=a+b"
    answer = await raw_request(
        gw.port, f"GET {target} HTTP/1.1\r\nHost: portal.example\r\n\r\n".encode()
    )
    assert answer.status == 200
    [seen] = up.seen
    assert seen.raw_path == target


@pytest.mark.parametrize(
    "target",
    [
        "/public/../admin",
        "//admin",
        "/public/%2e%2e/admin",
        "/public/%2E%2E/admin",
        "/./admin",
        "/public/..%2fadmin",
        "/public/..%5cadmin",
        "/public/.%2e/admin",
    ],
)
async def test_dot_and_empty_segments_cannot_bypass_a_path_rule(
    upstream: StartUpstream, gateway: StartGateway, target: str
) -> None:
    up = await upstream()
    gw = await gateway(up.url, routes=ADMIN_ROUTES, enabled=False)
    gated = await raw_request(gw.port, b"GET /admin HTTP/1.1\r\nHost: portal.example\r\n\r\n")
    assert gated.status == 503
    answer = await raw_request(
        gw.port, f"GET {target} HTTP/1.1\r\nHost: portal.example\r\n\r\n".encode()
    )
    assert answer.status in (400, 503)
    assert up.seen == []


@pytest.mark.parametrize(("method", "status"), [("PURGE", 299), ("PROPFIND", 599)])
async def test_unknown_methods_and_unusual_statuses_pass_through(
    upstream: StartUpstream, gateway: StartGateway, method: str, status: int
) -> None:
    async def odd(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, reason="Odd Status", text=request.method)

    up = await upstream({"/odd": odd})
    gw = await gateway(up.url)
    async with connect(gw.port) as (reader, writer):
        writer.write(f"{method} /odd HTTP/1.1\r\nHost: portal.example\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        start, _ = parse_head(head)
    assert start == f"HTTP/1.1 {status} Odd Status"
    [seen] = up.seen
    assert seen.method == method


async def test_connect_is_refused(upstream: StartUpstream, gateway: StartGateway) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    answer = await raw_request(
        gw.port, b"CONNECT portal.example:443 HTTP/1.1\r\nHost: portal.example:443\r\n\r\n"
    )
    assert answer.status in (405, 501)
    assert up.seen == []


async def test_gzip_response_is_relayed_byte_identical(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    compressed = gzip.compress(b"portal " * 5000)

    async def zipped(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=compressed,
            headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"},
        )

    up = await upstream({"/z": zipped})
    gw = await gateway(up.url)
    answer = await raw_request(
        gw.port, b"GET /z HTTP/1.1\r\nHost: portal.example\r\nAccept-Encoding: gzip\r\n\r\n"
    )
    assert answer.header("content-encoding") == ["gzip"]
    assert answer.header("content-length") == [str(len(compressed))]
    assert answer.header("transfer-encoding") == []
    assert answer.body == compressed


async def test_gzip_request_body_reaches_upstream_byte_identical(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    compressed = gzip.compress(b'{"order": 1}' * 500)
    up = await upstream()
    gw = await gateway(up.url)
    head = (
        "POST /orders HTTP/1.1\r\nHost: portal.example\r\nContent-Type: application/json\r\n"
        f"Content-Encoding: gzip\r\nContent-Length: {len(compressed)}\r\n\r\n"
    )
    answer = await raw_request(gw.port, head.encode() + compressed)
    assert answer.status == 200
    [seen] = up.seen
    assert seen.body == compressed
    assert seen.header("content-encoding") == ["gzip"]
    assert seen.header("content-length") == [str(len(compressed))]


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /x HTTP/1.1\r\nHost: portal.example\r\n\r\n",
        b"POST /x HTTP/1.1\r\nHost: portal.example\r\nContent-Length: 3\r\n\r\nabc",
    ],
)
async def test_no_invented_request_headers(
    upstream: StartUpstream, gateway: StartGateway, request_bytes: bytes
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    answer = await raw_request(gw.port, request_bytes)
    assert answer.status == 200
    [seen] = up.seen
    names = {k.lower() for k, _ in seen.headers}
    assert not names & {"accept-encoding", "user-agent", "accept", "content-type"}


async def test_content_length_post_keeps_its_length(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    await raw_request(
        gw.port, b"POST /x HTTP/1.1\r\nHost: portal.example\r\nContent-Length: 5\r\n\r\nhello"
    )
    [seen] = up.seen
    assert seen.header("content-length") == ["5"]
    assert seen.header("transfer-encoding") == []
    assert seen.body == b"hello"


async def test_chunked_post_is_chunked_or_exact_never_both(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    await raw_request(
        gw.port,
        b"POST /x HTTP/1.1\r\nHost: portal.example\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n",
    )
    [seen] = up.seen
    assert seen.body == b"abcdefg"
    te, cl = seen.header("transfer-encoding"), seen.header("content-length")
    assert (te == ["chunked"] and cl == []) or (te == [] and cl == ["7"])


@pytest.mark.parametrize(
    ("framing", "statuses"),
    [
        (b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", (400,)),
        (b"Transfer-Encoding: gzip, chunked\r\n", (400, 501)),
    ],
)
async def test_ambiguous_request_framing_is_refused_and_closed(
    upstream: StartUpstream, gateway: StartGateway, framing: bytes, statuses: tuple[int, ...]
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    async with connect(gw.port) as (reader, writer):
        writer.write(
            b"POST /x HTTP/1.1\r\nHost: portal.example\r\n"
            + framing
            + b"\r\n5\r\nhello\r\n0\r\n\r\n"
        )
        data, closed = await read_until_closed(reader, timeout=5)
    start, _ = parse_head(data.partition(b"\r\n\r\n")[0] + b"\r\n\r\n")
    assert int(start.split()[1]) in statuses
    assert closed
    assert up.seen == []


async def test_streamed_body_over_limit_gets_413_and_upstream_sees_at_most_limit(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    limit = 64 * 1024
    received = [0]
    done = asyncio.Event()

    async def count(request: web.Request) -> web.StreamResponse:
        try:
            async for chunk in request.content.iter_any():
                received[0] += len(chunk)
        except Exception:  # noqa: S110 - the gateway abandons the body; only the count matters
            pass
        finally:
            done.set()
        return web.Response(text="accepted")

    up = await upstream({"/upload": count}, read_body=False)
    gw = await gateway(up.url, f"proxy:\n  client_max_size: {limit}\n")
    chunk = b"x" * 16384
    async with connect(gw.port) as (reader, writer):
        writer.write(
            b"POST /upload HTTP/1.1\r\nHost: portal.example\r\nTransfer-Encoding: chunked\r\n\r\n"
        )

        async def send() -> None:
            for _ in range(64):  # 1 MiB in total, 16 times the limit
                writer.write(b"4000\r\n" + chunk + b"\r\n")
                await writer.drain()
                # Paced, so the gateway has streamed part of it before the limit is reached.
                await asyncio.sleep(0.005)
            writer.write(b"0\r\n\r\n")
            await writer.drain()

        sender = asyncio.create_task(send())
        async with asyncio.timeout(10):
            answer = await read_response(reader)
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
    assert answer.status == 413
    async with asyncio.timeout(5):
        await done.wait()
    assert received[0] <= limit


def _rss(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/self/status")


class PeakRss:
    """Peak resident memory of this process (gateway, upstream and client) during a block."""

    def __init__(self) -> None:
        self.base = 0
        self.samples: list[int] = []
        self.hwm_reset = False
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        while True:
            self.samples.append(_rss("VmRSS"))
            await asyncio.sleep(0.005)

    async def __aenter__(self) -> PeakRss:
        try:
            with open("/proc/self/clear_refs", "w") as refs:
                refs.write("5")  # resets VmHWM, the kernel's exact peak
            self.hwm_reset = True
        except OSError:
            self.hwm_reset = False
        self.base = _rss("VmRSS")
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    @property
    def growth(self) -> int:
        peak = max(self.samples, default=self.base)
        if self.hwm_reset:
            peak = max(peak, _rss("VmHWM"))
        return peak - self.base


MIB = 1024 * 1024


async def test_large_download_streams_with_bounded_memory(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    # 256 MiB rather than 1 GiB to keep the suite fast; a buffering proxy
    # would still grow by ~256 MiB.
    total = 256 * MIB
    block = os.urandom(MIB)
    written = [0]

    async def download(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": str(total)})
        await response.prepare(request)
        while written[0] < total:
            await response.write(block)
            written[0] += len(block)
        await response.write_eof()
        return response

    up = await upstream({"/big": download})
    gw = await gateway(up.url)
    received = 0
    written_at_first_byte = -1
    async with PeakRss() as rss, gw.client.get("/big") as resp:
        assert resp.status == 200
        async for chunk in resp.content.iter_chunked(MIB):
            if written_at_first_byte < 0:
                written_at_first_byte = written[0]
            received += len(chunk)
    assert received == total
    assert 0 <= written_at_first_byte < total  # the client got bytes before the upstream finished
    assert rss.growth < 64 * MIB, f"RSS grew by {rss.growth / MIB:.1f} MiB"


async def test_large_upload_streams_with_bounded_memory(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    # 64 MiB rather than 1 GiB, for speed; well past what a buffering proxy could hide.
    total = 64 * MIB
    block = os.urandom(MIB)
    sent = [0]
    sent_at_first_byte = [-1]
    received = [0]

    async def upload(request: web.Request) -> web.StreamResponse:
        async for chunk in request.content.iter_any():
            if sent_at_first_byte[0] < 0:
                sent_at_first_byte[0] = sent[0]
            received[0] += len(chunk)
        return web.Response(text=str(received[0]))

    async def body() -> AsyncIterator[bytes]:
        while sent[0] < total:
            sent[0] += len(block)
            yield block

    up = await upstream({"/up": upload}, read_body=False)
    gw = await gateway(up.url, "proxy:\n  client_max_size: 1g\n")
    async with PeakRss() as rss, gw.client.post("/up", data=body()) as resp:
        assert resp.status == 200
        assert await resp.text() == str(total)
    assert received[0] == total
    assert 0 <= sent_at_first_byte[0] < total  # upstream got bytes before the client finished
    assert rss.growth < 64 * MIB, f"RSS grew by {rss.growth / MIB:.1f} MiB"


# Per-route body limits: the office route takes uploads past the global limit (and past
# aiohttp's own 1 MiB default for a server's client_max_size), the customer route less.
ROUTE_LIMITS: list[dict[str, object]] = [
    {
        "name": "office",
        "paths": ["/office"],
        "upstream": "portal",
        "portal": "office",
        "client_max_size": "2m",
    },
    {
        "name": "forms",
        "paths": ["/forms"],
        "upstream": "portal",
        "portal": "customer",
        "client_max_size": "1k",
    },
    {"name": "customer", "paths": ["/"], "upstream": "portal", "portal": "customer"},
]


def streamed(total: int, block: int = 16384) -> AsyncIterator[bytes]:
    """A body of `total` bytes with no Content-Length: aiohttp sends it chunked."""

    async def gen() -> AsyncIterator[bytes]:
        left = total
        while left > 0:
            yield b"x" * min(block, left)
            left -= block

    return gen()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_route_limit_larger_than_the_global_one_lets_its_uploads_through(
    upstream: StartUpstream, gateway: StartGateway, chunked: bool
) -> None:
    up = await upstream()
    gw = await gateway(up.url, {"proxy": {"client_max_size": "64k"}}, routes=ROUTE_LIMITS)
    size = 1536 * 1024  # past the global 64k and past aiohttp's 1 MiB default
    body = streamed(size) if chunked else io.BytesIO(b"x" * size)
    async with gw.client.post("/office/upload", data=body) as resp:
        assert resp.status == 200
    assert [len(s.body) for s in up.seen] == [size]
    # The route's own limit still holds: 413 past 2m.
    async with gw.client.post("/office/upload", data=streamed(2 * MIB + 1)) as resp:
        assert resp.status == 413
    # A route without a limit of its own keeps the global one.
    async with gw.client.post("/account", data=b"x" * (64 * 1024 + 1)) as resp:
        assert resp.status == 413
    assert len(up.seen) <= 2  # the 2m+1 one may have started streaming; the last never did


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_route_limit_smaller_than_the_global_one_refuses_past_it(
    upstream: StartUpstream, gateway: StartGateway, chunked: bool
) -> None:
    received: list[int] = []
    started, done = asyncio.Event(), asyncio.Event()

    async def count(request: web.Request) -> web.StreamResponse:
        started.set()
        got = 0
        try:
            async for chunk in request.content.iter_any():
                got += len(chunk)
        except Exception:  # noqa: S110 - the gateway abandons the body; only the count matters
            pass
        finally:
            received.append(got)
            done.set()
        return web.Response(text="accepted")

    up = await upstream({"/forms": count}, read_body=False)
    gw = await gateway(up.url, routes=ROUTE_LIMITS)  # the global limit: 10m
    async with gw.client.post("/forms/enroll", data=b"x" * 1024) as resp:
        assert resp.status == 200  # exactly the limit passes
    assert received == [1024]
    started.clear()
    done.clear()
    body = streamed(4096, block=512) if chunked else b"x" * 4096
    async with gw.client.post("/forms/enroll", data=body) as resp:
        assert resp.status == 413
    if started.is_set():  # a chunked body may have begun to stream before the limit
        async with asyncio.timeout(5):
            await done.wait()
    assert all(n <= 1024 for n in received)  # the upstream sees at most the route's limit
    assert chunked or received == [1024]  # a Content-Length past it is never forwarded
    # The global limit, 10m, still serves the other customer routes.
    async with gw.client.post("/account", data=b"x" * 4096) as resp:
        assert resp.status == 200


async def test_expect_100_continue_meets_the_routes_own_limit(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url, {"proxy": {"client_max_size": "64k"}}, routes=ROUTE_LIMITS)
    # Past the customer form route's 1k: 413 at once, no 100 Continue, nothing forwarded.
    async with connect(gw.port) as (reader, writer):
        writer.write(
            b"POST /forms/enroll HTTP/1.1\r\nHost: portal.example\r\nContent-Length: 1025\r\n"
            b"Expect: 100-continue\r\n\r\n"
        )
        await writer.drain()
        async with asyncio.timeout(10):
            answer = await read_response(reader, method="POST")
        assert answer.status == 413
    # Within the office route's 2m (past the global 64k): 100 Continue, then the upload.
    size = 100 * 1024
    async with connect(gw.port) as (reader, writer):
        writer.write(
            b"POST /office/upload HTTP/1.1\r\nHost: portal.example\r\n"
            + f"Content-Length: {size}\r\nExpect: 100-continue\r\n\r\n".encode()
        )
        await writer.drain()
        async with asyncio.timeout(10):
            interim = await read_response(reader, method="POST")
            assert interim.status == 100
            writer.write(b"x" * size)
            await writer.drain()
            final = await read_response(reader, method="POST")
        assert final.status == 200
    assert [(s.raw_path, len(s.body)) for s in up.seen] == [("/office/upload", size)]
