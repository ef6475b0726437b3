"""A disable reaches every customer exchange in flight, whatever its phase (gateway/edge/exchanges.py).

Each test flips the portal at one await of the exchange, deterministically: the upstream is a
real aiohttp server whose handler waits on an asyncio.Event, and the test flips only once the
upstream (or the client) has reached the phase under test. Assertions name both sides: what
the upstream received, and what the client got.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from tests.conftest import Gateway, Handler, StartGateway, StartUpstream
from tests.rawhttp import connect, read_response, read_until_closed

MIB = 1024 * 1024


@dataclass
class Held:
    """An upstream handler's progress, for the test to wait on and assert against."""

    entered: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    received: int = 0
    outcome: str = "running"
    transport_closed: bool = False


def _uploads(held: Held, half: int) -> Handler:
    async def upload(request: web.Request) -> web.StreamResponse:
        try:
            async for chunk in request.content.iter_any():
                held.received += len(chunk)
                if held.received >= half:
                    held.entered.set()
        except BaseException as exc:  # a body cut short, or the handler cancelled with it
            held.outcome = f"cut: {type(exc).__name__}"
            raise
        held.outcome = "complete"
        return web.Response(text="stored")

    return upload


async def _flip(gw: Gateway) -> None:
    await gw.set_enabled(False)
    assert gw.poller.state.enabled is False


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_an_upload_cut_half_way_never_reaches_the_upstream_complete(
    upstream: StartUpstream, gateway: StartGateway, framing: str
) -> None:
    held = Held()
    up = await upstream({"/upload": _uploads(held, MIB // 2)}, read_body=False)
    gw = await gateway(up.url)
    half = b"x" * (MIB // 2)
    if framing == "chunked":
        head = b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        first, rest = (
            b"%x\r\n%s\r\n" % (len(half), half),
            b"%x\r\n%s\r\n0\r\n\r\n"
            % (
                len(half),
                half,
            ),
        )
    else:
        head = b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % MIB
        first, rest = half, half
    async with connect(gw.port) as (reader, writer):
        writer.write(head + first)
        await writer.drain()
        await asyncio.wait_for(held.entered.wait(), 5)
        await _flip(gw)
        reply = await asyncio.wait_for(read_response(reader, method="POST"), 5)
        # The client goes on sending: the gateway reads and drops the rest, then closes.
        writer.write(rest)
        await writer.drain()
        _, closed = await read_until_closed(reader, 5)
    assert (reply.status, reply.header("Retry-After"), closed) == (503, ["120"], True)
    assert b"Customer Portal" in reply.body
    for _ in range(100):  # the upstream learns of the cut when its connection closes
        if held.outcome != "running":
            break
        await asyncio.sleep(0.01)
    assert held.outcome.startswith("cut: ")
    assert MIB // 2 <= held.received < MIB


def _blocking(held: Held) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        await request.read()
        held.entered.set()
        try:
            await held.release.wait()
        except asyncio.CancelledError:
            # aiohttp cancels a handler whose client (the gateway) closed the connection.
            held.transport_closed = True
            raise
        return web.Response(text=f"paid by {request.method}")

    return handler


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("GET", None),  # safe and body-less: never committed
        ("HEAD", None),
        ("POST", b"card=4242"),  # committed: its body reached the upstream complete...
        ("POST", b""),  # ...or its head was its last byte,
        ("DELETE", None),  # but no answer had started: the gate's answer from the switch on
    ],
)
async def test_a_request_whose_answer_has_not_started(
    upstream: StartUpstream,
    gateway: StartGateway,
    method: str,
    body: bytes | None,
) -> None:
    held = Held()
    up = await upstream({"/pay": _blocking(held)})
    gw = await gateway(up.url)
    sent = asyncio.create_task(gw.client.request(method, "/pay", data=body))
    await asyncio.wait_for(held.entered.wait(), 5)
    await _flip(gw)
    resp = await asyncio.wait_for(sent, 5)
    held.release.set()
    assert resp.status == 503
    assert resp.headers["Retry-After"] == "120"
    for _ in range(100):
        if held.transport_closed:
            break
        await asyncio.sleep(0.01)
    assert held.transport_closed  # the upstream request was abandoned
    resp.release()
    assert [s.method for s in up.seen] == [method]


def _streams(held: Held, every: float = 0.0) -> Handler:
    async def stream(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"first\n")
        held.entered.set()
        if every:
            while True:  # trickles forever: only the gateway's bound ends it
                await asyncio.sleep(every)
                await response.write(b"tick\n")
        await held.release.wait()
        await response.write(b"last\n")
        return response

    return stream


async def test_a_committed_answer_still_relaying_is_relayed_to_its_end(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    held = Held()
    up = await upstream({"/pay": _streams(held)})
    gw = await gateway(up.url)
    async with gw.client.post("/pay", data=b"card=4242") as resp:
        assert await resp.content.readline() == b"first\n"
        await _flip(gw)
        held.release.set()
        assert await asyncio.wait_for(resp.content.read(), 5) == b"last\n"


async def test_a_stream_answering_a_get_is_cut_at_the_switch(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    held = Held()
    up = await upstream({"/events": _streams(held)})
    gw = await gateway(up.url)
    async with gw.client.get("/events") as resp:
        assert await resp.content.readline() == b"first\n"
        await _flip(gw)
        held.release.set()
        with pytest.raises(aiohttp.ClientPayloadError):
            await asyncio.wait_for(resp.content.read(), 5)


async def test_a_committed_answer_gets_read_timeout_after_the_switch_and_no_more(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    held = Held()
    up = await upstream({"/pay": _streams(held, every=0.05)})
    gw = await gateway(up.url, "proxy:\n  read_timeout: 0.4\n")
    async with gw.client.post("/pay", data=b"card=4242") as resp:
        assert await resp.content.readline() == b"first\n"
        await _flip(gw)
        flipped = time.monotonic()
        with pytest.raises(aiohttp.ClientPayloadError):
            await asyncio.wait_for(resp.content.read(), 5)
        # The ticks kept the per-read timeout from firing: the bound after the switch did.
        assert 0.35 < time.monotonic() - flipped < 2


async def test_an_early_answer_while_the_body_still_arrives_is_aborted(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    held = Held()

    async def early(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"early\n")
        held.entered.set()
        try:
            held.received = len(await request.read())
            held.outcome = "complete"
        except BaseException as exc:
            held.outcome = f"cut: {type(exc).__name__}"
            raise
        return response

    up = await upstream({"/upload": early}, read_body=False)
    gw = await gateway(up.url)
    async with connect(gw.port) as (reader, writer):
        writer.write(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345")
        await writer.drain()
        await asyncio.wait_for(held.entered.wait(), 5)
        # The switch must come once the answer is relaying: wait until its head reached us
        # (the upstream having sent it is not enough; the gateway may not have read it yet).
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        await _flip(gw)
        rest, closed = await read_until_closed(reader, 5)
        reply = head + rest
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n") and closed
    assert not reply.endswith(b"0\r\n\r\n")  # aborted, never a clean end
    for _ in range(100):
        if held.outcome != "running":
            break
        await asyncio.sleep(0.01)
    assert held.outcome.startswith("cut: ")


async def test_office_exchanges_in_flight_pass_the_switch_untouched(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    held = Held()
    up = await upstream({"/office": _blocking(held)})
    gw = await gateway(up.url)
    sent = asyncio.create_task(gw.client.get("/office/report"))
    await asyncio.wait_for(held.entered.wait(), 5)
    async with gw.client.get("/_gateway/metrics") as resp:
        assert 'portal_gateway_open_connections{kind="customer_exchanges"} 0.0' in await resp.text()
    await _flip(gw)
    held.release.set()
    resp = await asyncio.wait_for(sent, 5)
    assert (resp.status, await resp.text()) == (200, "paid by GET")
    resp.release()
