"""The public listener under uvloop accepts in Python: it serves as aiohttp's own site does,
binds as `create_server` would, and turns clients away at once when out of descriptors."""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from gateway.edge.accept import AcceptingSite, Listener, listening_sockets, on_uvloop
from gateway.edge.limits import ConnectionLimit, EventSummary
from tests.processes import free_port

uvloop = pytest.importorskip("uvloop")


def on_uv(test: Callable[[], Awaitable[None]]) -> None:
    uvloop.run(test())


async def _hello(request: web.BaseRequest) -> web.StreamResponse:
    return web.Response(text="hello")


def _app() -> web.Application:
    app = web.Application()
    app.router.add_get("/", _hello)
    return app


def test_only_uvloop_is_told_apart() -> None:
    async def check() -> None:
        assert on_uvloop(asyncio.get_running_loop())

    on_uv(check)
    assert not on_uvloop(asyncio.new_event_loop())


def test_under_uvloop_the_site_accepts_in_python_and_serves() -> None:
    async def run() -> None:
        runner = web.AppRunner(_app())
        await runner.setup()
        limit = ConnectionLimit(100, open_files=1024)
        port = free_port()
        site = AcceptingSite(runner, "127.0.0.1", port, reuse_port=False, connections=limit)
        await site.start()
        try:
            assert isinstance(site._server, Listener)
            assert runner.addresses == [("127.0.0.1", port)]
            async with aiohttp.ClientSession() as http:
                for _ in range(3):  # new connections and a kept-alive one
                    async with http.get(f"http://127.0.0.1:{port}/") as resp:
                        assert await resp.text() == "hello"
        finally:
            await runner.cleanup()
        # Closed: nothing accepts on the port any more.
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", port)

    on_uv(run)


def test_the_sockets_bind_as_create_server_does() -> None:
    async def run() -> None:
        port = free_port()
        every = await listening_sockets(None, port, reuse_port=True, backlog=16)
        workers = await listening_sockets(None, port, reuse_port=True, backlog=16)  # SO_REUSEPORT
        try:
            families = {s.family for s in every}
            assert socket.AF_INET in families  # every interface: IPv4, and IPv6 where it exists
            assert all(s.getsockname()[1] == port for s in every + workers)
            for sock in every:
                if sock.family == socket.AF_INET6:
                    assert sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1
            with pytest.raises(OSError) as taken:
                await listening_sockets("127.0.0.1", port, reuse_port=False, backlog=16)
            assert taken.value.errno == errno.EADDRINUSE
        finally:
            for sock in every + workers:
                sock.close()

    on_uv(run)


def test_out_of_descriptors_the_pending_clients_are_closed_at_once_and_counted() -> None:
    async def run() -> None:
        loop = asyncio.get_running_loop()
        [sock] = await listening_sockets("127.0.0.1", free_port(), reuse_port=False, backlog=16)
        limit = ConnectionLimit(100, open_files=1024, summary=EventSummary(interval=60))
        listener = Listener(loop, [sock], web.Server(_hello), limit)
        loop.remove_reader(sock.fileno())  # the three wait in the backlog, as under EMFILE
        clients = [await asyncio.open_connection(*sock.getsockname()) for _ in range(3)]
        # What the reader does when accept() fails with EMFILE.
        limit.accept_failed(OSError(errno.EMFILE, "Too many open files"), listener._turn_away(sock))
        assert limit.accept_errors == 3
        for reader, _ in clients:
            assert await asyncio.wait_for(reader.read(), 2) == b""  # closed, not left hanging
        assert listener._reserve is not None  # taken again for the next time
        listener.close()
        for _, writer in clients:
            writer.close()

    on_uv(run)


def test_failed_accepts_are_summarised_with_their_count(caplog: pytest.LogCaptureFixture) -> None:
    limit = ConnectionLimit(100, open_files=1024, summary=EventSummary(interval=60))
    with caplog.at_level("WARNING", "gateway.limits"):
        limit.accept_failed(OSError(errno.EMFILE, "Too many open files"), 5)
    assert limit.accept_errors == 5
    assert caplog.messages == [
        "5 failed accepts (Too many open files; open files limit 1024, 0 client connections)"
    ]
