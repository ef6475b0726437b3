"""The open-files limit and the client connection bound (gateway/edge/limits.py)."""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import resource
import subprocess
import sys
from collections.abc import Callable

import pytest
from aiohttp import web

from gateway.config import ProxyConfig
from gateway.edge.keys import CONNECTIONS
from gateway.edge.limits import (
    RESERVED_DESCRIPTORS,
    ConnectionLimit,
    EventSummary,
    OpenFiles,
    default_max_connections,
    describe,
    open_files_limit,
    overcommitted,
    raise_open_files_limit,
)
from tests.conftest import ROOT, StartGateway, StartUpstream
from tests.rawhttp import connect, read_response, read_until_closed


def test_the_default_leaves_room_for_the_reserve_and_the_pool() -> None:
    # 1,024 open files, the default pool of 1,000: the pool gets half of what is left.
    assert default_max_connections(1024, 1000) == (1024 - RESERVED_DESCRIPTORS) // 2 == 416
    # A large limit: everything but the reserve and the whole pool.
    assert default_max_connections(1 << 20, 1000) == (1 << 20) - RESERVED_DESCRIPTORS - 1000
    assert default_max_connections(1024, 10) == 1024 - RESERVED_DESCRIPTORS - 10
    # Even a limit below the reserve serves someone.
    assert default_max_connections(100, 1000) == 1


def test_the_start_line_says_the_limit_and_the_bound() -> None:
    bound = ConnectionLimit(416, open_files=1024)
    assert describe(OpenFiles(before=1024, now=1024, hard=1024), bound) == (
        "open files: limit 1024 (the hard limit); at most 416 client connections "
        "(proxy.max_connections)"
    )
    assert describe(OpenFiles(before=1024, now=4096, hard=4096), bound).startswith(
        "open files: limit 4096 (raised from 1024);"
    )
    assert describe(OpenFiles(before=1024, now=1024, hard=None), bound).startswith(
        "open files: limit 1024 (hard limit None);"
    )


def test_a_bound_above_what_the_open_files_allow_is_warned_about() -> None:
    proxy = ProxyConfig()
    assert overcommitted(ConnectionLimit(416, open_files=1024), proxy) is None
    assert overcommitted(ConnectionLimit(5000, open_files=1024), proxy) == (
        "proxy.max_connections 5000 is more than the open files limit (1024) leaves room for "
        "(416): accept() will fail first"
    )


def run_under(limits: tuple[int, int], code: str) -> str:
    """`code`'s stdout in a child Python whose open-files limit is `limits` at start."""

    def lower() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, limits)

    done = subprocess.run(
        [sys.executable, "-c", code],
        preexec_fn=lower,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


RAISE = (
    "import json, resource; from gateway.edge.limits import raise_open_files_limit as r; "
    "f = r(); print(json.dumps([f.before, f.now, f.hard, "
    "resource.getrlimit(resource.RLIMIT_NOFILE)[0]]))"
)


def test_the_soft_limit_is_raised_to_the_hard_limit() -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    target = min(hard, 4096) if hard != resource.RLIM_INFINITY else 4096
    if target <= 512:
        pytest.skip(f"the hard open-files limit here is {hard}")
    assert json.loads(run_under((512, target), RAISE)) == [512, target, target, target]
    # Already at the hard limit: nothing changes.
    assert json.loads(run_under((512, 512), RAISE)) == [512, 512, 512, 512]


def test_raising_in_this_process_reaches_the_hard_limit() -> None:
    # It only ever raises: calling it in the test process is harmless.
    files = raise_open_files_limit()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert files.now == open_files_limit() == soft
    assert files.hard == (None if hard == resource.RLIM_INFINITY else hard)
    assert files.now >= files.before


class Conn:
    """A connection as the bound sees it: idle or busy, and whether it was reclaimed."""

    def __init__(self, idle: bool) -> None:
        self.busy = not idle
        self.closed = False

    def idle(self) -> bool:
        return not self.busy

    def reclaim(self) -> None:
        self.closed = True


def test_at_the_bound_the_oldest_idle_connection_makes_room() -> None:
    bound = ConnectionLimit(3, open_files=1024)
    busy, idle_old, idle_new = Conn(False), Conn(True), Conn(True)
    for conn in (busy, idle_old, idle_new):
        assert bound.admit(conn)
    newcomer = Conn(True)
    assert bound.admit(newcomer)
    assert (busy.closed, idle_old.closed, idle_new.closed) == (False, True, False)
    assert (bound.open, bound.reclaimed, bound.refused) == (3, 1, 0)
    bound.release(idle_old)  # its connection_lost comes later: counted once
    assert bound.open == 3


def test_when_every_connection_is_busy_a_new_one_is_refused_and_counted() -> None:
    bound = ConnectionLimit(2, open_files=1024)
    first, second = Conn(False), Conn(False)
    assert bound.admit(first) and bound.admit(second)
    assert not bound.admit(Conn(True))
    assert (bound.open, bound.refused, bound.reclaimed) == (2, 1, 0)
    second.busy = False  # its request finished: it is idle now, and reclaimable
    assert bound.admit(Conn(True))
    assert second.closed and not first.closed
    bound.release(first)
    assert bound.open == 1


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_one_line_then_one_summary_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    summary = EventSummary(logging.getLogger("test.limits"), interval=10, clock=clock)
    with caplog.at_level(logging.WARNING, "test.limits"):
        summary.note("client connections refused", "all 2 busy")
        for _ in range(500):
            summary.note("client connections refused", "all 2 busy")
        summary.note("failed accepts", "Too many open files")
        clock.now += 3
        summary.flush()  # what the timer does at the interval's end
        clock.now += 20
        summary.flush()  # nothing new: no line
    assert caplog.messages == [
        "1 client connections refused (all 2 busy)",
        "500 client connections refused (all 2 busy); 1 failed accepts (Too many open files)"
        " in the last 3s",
    ]


async def test_the_summary_timer_reports_the_end_of_a_burst(
    caplog: pytest.LogCaptureFixture,
) -> None:
    summary = EventSummary(logging.getLogger("test.limits"), interval=0.2)
    with caplog.at_level(logging.WARNING, "test.limits"):
        summary.note("failed accepts", "Too many open files")
        summary.note("failed accepts", "Too many open files")
        assert len(caplog.messages) == 1
        await asyncio.sleep(0.4)
    assert caplog.messages[1].startswith("1 failed accepts (Too many open files) in the last")


def test_accept_failures_are_counted_not_logged_one_by_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bound = ConnectionLimit(10, open_files=1024)
    loop = asyncio.new_event_loop()
    try:
        # What asyncio's selector loop reports when accept() fails for want of descriptors.
        emfile = OSError(errno.EMFILE, "Too many open files")
        with caplog.at_level(logging.WARNING):
            for _ in range(3):
                bound.on_loop_error(
                    loop, {"message": "socket.accept() out of system resource", "exception": emfile}
                )
            bound.on_loop_error(loop, {"message": "something else"})
    finally:
        loop.close()
    assert bound.accept_errors == 3
    assert caplog.messages == [
        "1 failed accepts (Too many open files; open files limit 1024, 0 client connections)",
        "something else",  # asyncio's own handler, untouched
    ]


def connections_of(app: web.Application) -> ConnectionLimit:
    return app[CONNECTIONS]


async def held_upstream(start: StartUpstream) -> tuple[str, asyncio.Event, Callable[[], int]]:
    release = asyncio.Event()
    entered = []

    async def hold(request: web.Request) -> web.StreamResponse:
        entered.append(request.path)
        await release.wait()
        return web.Response(text="held")

    up = await start({"/office/hold": hold})
    return up.url, release, lambda: len(entered)


async def test_a_new_connection_takes_an_idle_ones_place(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url, {"proxy": {"max_connections": 2}})
    bound = connections_of(gw.client.app)
    async with connect(gw.port) as (idle_r, _), connect(gw.port) as (_, keep_w):
        await asyncio.sleep(0.1)
        assert bound.open == 2
        async with connect(gw.port) as (reader, writer):
            writer.write(b"GET /office/x HTTP/1.1\r\nHost: a\r\n\r\n")
            response = await asyncio.wait_for(read_response(reader), 5)
            assert response.status == 200
            assert response.body == b"upstream saw GET /office/x"
        # The oldest idle connection was closed to make room; the other is still open.
        _, closed = await read_until_closed(idle_r, 2)
        assert closed
        assert (bound.reclaimed, bound.refused) == (1, 0)
        assert not keep_w.is_closing()


async def test_when_all_are_busy_a_new_connection_gets_503_at_once(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    url, release, entered = await held_upstream(upstream)
    gw = await gateway(url, {"proxy": {"max_connections": 2}})
    bound = connections_of(gw.client.app)
    async with connect(gw.port) as (r1, w1), connect(gw.port) as (r2, w2):
        for w in (w1, w2):
            w.write(b"GET /office/hold HTTP/1.1\r\nHost: a\r\n\r\n")
        for _ in range(100):
            if entered() == 2:
                break
            await asyncio.sleep(0.02)
        assert entered() == 2
        async with connect(gw.port) as (reader, _):
            received, closed = await read_until_closed(reader, 2)
        assert closed
        assert received == (
            b"HTTP/1.1 503 Service Unavailable\r\nServer: portal-gateway\r\n"
            b"Content-Length: 0\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
        )
        assert (bound.refused, bound.reclaimed, bound.open) == (1, 0, 2)
        # The busy ones were not touched: their answers still arrive.
        release.set()
        for r in (r1, r2):
            assert (await asyncio.wait_for(read_response(r), 5)).body == b"held"
    for _ in range(100):
        if bound.open == 0:
            break
        await asyncio.sleep(0.02)
    assert bound.open == 0  # every connection released when it closed
