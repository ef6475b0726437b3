"""Issue #5: request targets, framing, headers and slow clients, on the real connection handler."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import StartGateway, StartUpstream, raw_exchange


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def status_of(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])


ODD_REQUESTS: list[tuple[bytes, int]] = [
    (b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431),
    (
        b"GET / HTTP/1.1\r\nHost: a\r\n"
        + b"".join(b"X-H%d: 1\r\n" % i for i in range(200))
        + b"\r\n",
        431,
    ),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  folded\r\n\r\n", 400),  # obs-fold
    (b"GET / HTTP/1.1\nHost: a\n\n", 400),  # bare LF
    (b"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400),  # bare CR
    (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
    (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2\r\n\r\nab", 400),
    (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400),
    (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n",
        400,
    ),
    (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400),
    (b"POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    (b"get / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
    (b"GET /\r\n\r\n", 505),  # HTTP/0.9
    (b"TRACE / HTTP/1.1\r\nHost: a\r\n\r\n", 405),
    (b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 405),
    (b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a\r\nHost: office.example\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a, office.example\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: user@office.example\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: \r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\n\r\n", 400),
]


@pytest.mark.parametrize(("request_bytes", "status"), ODD_REQUESTS)
async def test_odd_requests_are_refused_never_forwarded(
    upstream: StartUpstream,
    gateway: StartGateway,
    request_bytes: bytes,
    status: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    up = await upstream()
    gw = await gateway(up.url)  # enabled: refusal must not depend on the gate
    reply = await raw_exchange(gw.port, request_bytes, read_timeout=3)
    assert status_of(reply) == status, reply[:200]
    assert b"Server: portal-gateway" in reply.split(b"\r\n\r\n")[0]
    assert up.seen == []
    assert "Traceback" not in caplog.text


async def test_slowloris_head_is_cut_at_the_header_timeout(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url, "proxy:\n  header_timeout: 300ms\n")
    reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: a\r\n")
    reply = b""
    try:
        # Trickle one header byte at a time, well within any per-read timeout.
        for byte in b"X-Slow: " + b"a" * 40:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.02)
        reply = await asyncio.wait_for(reader.read(), 3)
    except ConnectionError:
        pass
    finally:
        writer.close()
    assert reply.startswith(b"HTTP/1.1 408") or reply == b""
    assert up.seen == []


async def test_a_quiet_connection_is_closed_too(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url, "proxy:\n  header_timeout: 200ms\n")
    reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
    reply = await asyncio.wait_for(reader.read(), 3)
    writer.close()
    assert reply.startswith(b"HTTP/1.1 408")


@pytest.mark.slow
async def test_ten_thousand_pipelined_requests_in_bounded_memory(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream(read_body=False)
    gw = await gateway(up.url)
    before = rss_bytes()
    reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
    batch = b"GET /office/ping HTTP/1.1\r\nHost: a\r\n\r\n" * 10_000
    writer.write(batch)
    answers = 0
    tail = b""

    async def count() -> None:
        nonlocal answers, tail
        while answers < 10_000:
            data = await reader.read(1 << 16)
            if not data:
                return
            answers += (tail + data).count(b"HTTP/1.1 200 OK")
            tail = data[-20:]

    # A bound for the loop, not a speed assertion: 10,000 small requests on loopback.
    await asyncio.wait_for(asyncio.gather(writer.drain(), count()), 120)
    writer.close()
    assert answers == 10_000
    assert rss_bytes() - before < 64 * 1024 * 1024
    assert len(up.seen) == 10_000


async def test_handler_failures_fail_closed(
    upstream: StartUpstream, gateway: StartGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    up = await upstream()
    gw = await gateway(up.url)

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("classification bug")

    monkeypatch.setattr("gateway.policy.gate.classify", broken)
    async with gw.client.get("/") as resp:
        assert resp.status == 500
        assert "Traceback" not in await resp.text()
    assert up.seen == []


async def test_the_gateway_still_serves_after_the_whole_battery(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    """Every odd request above, a slowloris and a pipelined burst against one gateway: it still serves."""
    up = await upstream(read_body=False)
    gw = await gateway(up.url, "proxy:\n  header_timeout: 300ms\n")
    for case in ODD_REQUESTS:
        reply = await raw_exchange(gw.port, case[0], read_timeout=3)
        assert status_of(reply) == case[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ")
    assert (await asyncio.wait_for(reader.read(), 3)).startswith(b"HTTP/1.1 408")
    writer.close()
    reply = await raw_exchange(
        gw.port,
        b"GET /office/x HTTP/1.1\r\nHost: a\r\n\r\n" * 500
        + b"GET /office/last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    assert reply.count(b"HTTP/1.1 200 OK") == 501
    await gw.set_enabled(False)
    async with gw.client.get("/pay") as resp:
        assert resp.status == 503
    await gw.set_enabled(True)
    async with gw.client.get("/pay") as resp:
        assert resp.status == 200
    async with gw.client.get("/_gateway/healthz") as resp:
        assert resp.status == 200
