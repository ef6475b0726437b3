"""Issue #5: the gateway keeps its promises when its store or its upstream misbehave."""

from __future__ import annotations

import asyncio
import random
import signal
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from gateway.config import SettingsConfig
from gateway.settings.poller import Poller
from gateway.testing import MemorySource
from tests.conftest import StartGateway, StartUpstream
from tests.processes import gateway_process


async def test_store_unreachable_at_cold_start(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(
        up.url, settings="source: http://127.0.0.1:1/settings\nfield: enabled\ntimeout: 300ms\n"
    )
    assert gw.poller.state.last_error is not None
    async with gw.client.get("/login") as resp:
        assert resp.status == 503  # fail closed for customers
    async with gw.client.get("/office/families") as resp:
        assert resp.status == 200  # staff never depend on the store
    async with gw.client.get("/public/app.css") as resp:
        assert resp.status == 200
    assert [s.raw_path for s in up.seen] == ["/office/families", "/public/app.css"]


async def test_store_answering_429_or_503_keeps_the_last_known_value(
    upstream: StartUpstream, gateway: StartGateway, aiohttp_server: AiohttpServer
) -> None:
    answer = {"status": 200}

    async def settings(request: web.Request) -> web.Response:
        if answer["status"] != 200:
            return web.json_response(
                {"enabled": True}, status=answer["status"], headers={"Retry-After": "30"}
            )
        return web.json_response({"enabled": False})

    app = web.Application()
    app.router.add_get("/s", settings)
    store = await aiohttp_server(app)
    up = await upstream()
    gw = await gateway(
        up.url, settings=f"source: http://127.0.0.1:{store.port}/s\nfield: enabled\n"
    )
    assert gw.poller.state.enabled is False
    for status in (429, 503):
        answer["status"] = status
        await gw.poller.refresh()
        assert gw.poller.state.last_error == f"http://127.0.0.1:{store.port}/s: HTTP {status}"
        async with gw.client.get("/pay") as resp:
            assert resp.status == 503  # the error body said "enabled": it is not believed


async def test_flapping_store_never_serves_a_stale_enable(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    seen_disables: list[float] = []
    for _ in range(5):
        await gw.set_enabled(False)
        assert gw.poller.state.last_disabled_at is not None
        seen_disables.append(gw.poller.state.last_disabled_at)
        async with gw.client.get("/pay") as resp:
            assert resp.status == 503
        await gw.set_enabled(True)
        async with gw.client.get("/pay") as resp:
            assert resp.status == 200
        await asyncio.sleep(0.01)
    assert seen_disables == sorted(seen_disables) and len(set(seen_disables)) == 5
    assert [s.raw_path for s in up.seen] == ["/pay"] * 5


async def test_many_processes_restarting_read_once_each_with_jitter() -> None:
    source = MemorySource(True)
    rng = random.Random(7)
    slept: list[float] = []
    hold = asyncio.Event()

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        await hold.wait()  # after the first read, stay asleep until the test ends

    cfg = SettingsConfig(source="memory://", ttl=2.0)
    pollers = [
        Poller(source, cfg, jitter=lambda ttl: rng.uniform(0, min(ttl, 1.0)), sleep=sleep)
        for _ in range(50)
    ]
    for poller in pollers:
        await poller.start()
    for _ in range(50):
        await asyncio.sleep(0)
    try:
        # Each read the store at once, then waits up to a second less than a TTL for its
        # second read: the herd spreads without any process reading later than one TTL.
        first_sleeps = slept[:50]
        assert len(set(first_sleeps)) == 50 and all(1.0 < s <= 2.0 for s in first_sleeps)
        assert source.reads == 50  # one read each, none doubled
        assert all(p.state.enabled for p in pollers)
    finally:
        for poller in pollers:
            await poller.stop()


async def test_upstream_down_slow_or_resetting_while_enabled(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(3)
        return web.Response(text="late")

    async def reset(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = 1000
        await response.prepare(request)
        await response.write(b"partial")
        assert request.transport is not None
        request.transport.abort()
        return response

    up = await upstream({"/slow": slow, "/reset": reset, "/office/slow": slow})
    gw = await gateway(up.url, "proxy:\n  read_timeout: 300ms\n")
    async with gw.client.get("/slow") as resp:
        assert resp.status == 504
    async with gw.client.get("/reset") as resp:
        assert resp.status == 200
        try:
            await resp.read()
            raise AssertionError("a reset mid-response must reach the client as an abort")
        except aiohttp.ClientPayloadError:
            pass
    async with gw.client.get("/office/x") as resp:
        assert resp.status == 200  # office unaffected by the customer failures
    down = await gateway("http://127.0.0.1:1")
    async with down.client.get("/") as resp:
        assert resp.status == 502
    async with down.client.get("/office/x") as resp:
        assert resp.status == 502


async def test_while_disabled_the_answer_needs_no_upstream_at_all(gateway: StartGateway) -> None:
    connections = 0

    async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.close()

    server = await asyncio.start_server(count, "127.0.0.1", 0)
    gw = await gateway(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", enabled=False)
    for path in ("/", "/login", "/pay", "/enroll"):
        async with gw.client.post(path, data=b"x") as resp:
            assert resp.status == 503
    assert connections == 0
    server.close()


def test_make_source_registry_knows_every_documented_scheme() -> None:
    from gateway.settings import REGISTRY

    assert set(REGISTRY) == {"http", "https", "file", "sqlite", "postgresql", "mysql", "redis"}


@pytest.mark.slow
async def test_sigterm_drains_readiness_first_then_websockets_get_1001(
    aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    """SIGTERM mid-stream: readiness 503 first, still accepting during
    drain_delay, the open stream finishes, WebSockets receive 1001, exit 0."""

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.path.endswith("/ws"):
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            async for msg in ws:
                await ws.send_str(msg.data)
            return ws
        response = web.StreamResponse()
        await response.prepare(request)
        for i in range(10):
            await response.write(f"part {i}\n".encode())
            await asyncio.sleep(0.1)
        return response

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    upstream = await aiohttp_server(app)
    drain = "proxy:\n  drain_delay: 700ms\n  drain_timeout: 10s\n"
    async with (
        gateway_process(f"http://127.0.0.1:{upstream.port}", tmp_path, extra=drain) as gateway,
        aiohttp.ClientSession() as session,
        session.ws_connect(gateway.url("/office/ws")) as ws,
        session.get(gateway.url("/office/stream")) as stream,
    ):
        await ws.send_str("hello")
        assert (await ws.receive()).data == "hello"
        assert await stream.content.readline() == b"part 0\n"
        gateway.proc.send_signal(signal.SIGTERM)
        await gateway.until(session, "/_gateway/readyz", 503)
        async with session.get(gateway.url("/office/during-drain")) as late:
            assert late.status == 200  # still accepting during the pre-stop delay
            await late.read()
        closing = await asyncio.wait_for(ws.receive(), 10)
        # The close frame on the wire says 1001 Going Away (the client's own close_code turns
        # 1006 only because the exiting gateway does not wait for its reply).
        assert (closing.type, closing.data, closing.extra) == (
            aiohttp.WSMsgType.CLOSE,
            1001,
            "gateway shutting down",
        )
        assert (await stream.content.read()).count(b"part") == 9
        assert await asyncio.wait_for(gateway.proc.wait(), 30) == 0
