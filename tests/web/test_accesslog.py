"""The access log: one line per exchange with every field, written by a thread off the request
path, one `write()` per line, and everything queued written when the app stops."""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import pty
import re
import subprocess
import sys
import threading
import time

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import create_app
from gateway.config import config_from_text
from gateway.settings import SOURCES
from gateway.settings.poller import Poller
from gateway.testing import MemorySource
from gateway.web.accesslog import AccessLog, stderr_format
from gateway.wire.logline import LINE_MAX, AccessEntry
from tests.conftest import ROOT, StartGateway, StartUpstream, Writes, config_text
from tests.processes import ENV

FIELDS = [
    "ts",
    "request_id",
    "client",
    "method",
    "path",
    "route",
    "portal",
    "decision",
    "reason",
    "status",
    "bytes",
    "upstream_seconds",
    "duration",
    "user_agent",
    "worker",
]


def entry(path: str = "/x") -> AccessEntry:
    return AccessEntry(
        time.time(), "r", "127.0.0.1", "GET", path, "office", "office", "forwarded",
        "forwarded", 200, 10, 0.001, 0.002, "ua", os.getpid(),
    )  # fmt: skip


async def test_one_json_line_per_request_with_every_field(
    upstream: StartUpstream, gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    gw = await gateway((await upstream()).url)
    caplog.set_level(logging.INFO, "gateway.access")
    before = time.time()
    async with gw.client.get(
        "/office/a?card=4111&token=abc", headers={"User-Agent": "probe/1"}
    ) as resp:
        assert resp.status == 200
        body = await resp.read()
        rid = resp.headers["X-Request-ID"]
    await gw.set_enabled(False)
    async with gw.client.get("/enroll?child=Ann", headers={"User-Agent": "probe/2"}) as resp:
        assert resp.status == 503
        page = await resp.read()
        rid2 = resp.headers["X-Request-ID"]
    office, blocked = gw.access_json()
    assert list(office) == FIELDS and list(blocked) == FIELDS
    stamp = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
    assert stamp.fullmatch(office["ts"]) and stamp.fullmatch(blocked["ts"])
    assert time.strftime("%Y-%m-%dT%H:%M", time.gmtime(before)) <= office["ts"]
    assert {k: office[k] for k in FIELDS[1:12] if k != "bytes"} == {
        "request_id": rid,
        "client": "127.0.0.1",
        "method": "GET",
        "path": "/office/a",  # the query (a card number, a token) is not logged
        "route": "office",
        "portal": "office",
        "decision": "forwarded",
        "reason": "forwarded",
        "status": 200,
        "upstream_seconds": office["upstream_seconds"],
    }
    # A relayed answer's size is what aiohttp wrote for it (head included, as it counts).
    assert office["bytes"] >= len(body)
    assert 0 < office["upstream_seconds"] <= office["duration"] < 5
    assert (office["user_agent"], office["worker"]) == ("probe/1", os.getpid())
    assert {k: blocked[k] for k in FIELDS[1:12]} == {
        "request_id": rid2,
        "client": "127.0.0.1",
        "method": "GET",
        "path": "/enroll",
        "route": "customer",
        "portal": "customer",
        "decision": "blocked",
        # A customer refusal's reason is the portal state's cause: staff's switch in the store.
        "reason": "store",
        "status": 503,
        # The gateway's own answer is logged before it is sent: its size is its Content-Length.
        "bytes": len(page),
        "upstream_seconds": None,  # the upstream was never asked
    }
    assert blocked["user_agent"] == "probe/2"


async def test_log_query_keeps_the_query_and_a_preview_token_is_never_logged(
    upstream: StartUpstream, gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    gw = await gateway((await upstream()).url, {"log_query": True})
    caplog.set_level(logging.INFO, "gateway.access")
    async with gw.client.get("/office/a?page=2") as resp:
        assert resp.status == 200
    async with gw.client.get("/_gateway/preview/S3CRET-token?x=1") as resp:
        assert resp.status == 404
    lines = gw.access_lines()
    assert [json.loads(line)["path"] for line in lines] == [
        "/office/a?page=2",
        "/_gateway/preview/-",
    ]
    assert not any("S3CRET" in line for line in lines)


async def test_the_text_form_is_one_readable_line(
    upstream: StartUpstream, gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    gw = await gateway((await upstream()).url, {"log_format": "text"})
    caplog.set_level(logging.INFO, "gateway.access")
    async with gw.client.get("/office/a?b=1", headers={"User-Agent": "a b"}) as resp:
        rid = resp.headers["X-Request-ID"]
    [line] = gw.access_lines()
    assert re.fullmatch(
        r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z 127\.0\.0\.1 "GET /office/a" 200 \d+ '
        r"route=office portal=office decision=forwarded reason=forwarded "
        rf'upstream=\d+\.\d{{3}} time=\d+\.\d{{3}} rid={rid} ua="a b" worker={os.getpid()}',
        line,
    ), line
    await gw.set_enabled(False)
    async with gw.client.get("/enroll") as resp:
        assert resp.status == 503
    blocked = gw.access_lines()[1]
    assert " route=customer portal=customer decision=blocked reason=store " in blocked, blocked


async def test_no_access_line_is_built_when_the_log_is_off(
    upstream: StartUpstream, gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    gw = await gateway((await upstream()).url)
    caplog.set_level(logging.WARNING, "gateway.access")
    async with gw.client.get("/office/a") as resp:
        assert resp.status == 200
    assert gw.access_lines() == []


def _tiny_pipe() -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    # One page of pipe: writers block often, and a line split across writes would show.
    fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, 4096)
    return read_fd, write_fd


def _slow_reader(fd: int, into: bytearray) -> threading.Thread:
    def run() -> None:
        # A few bytes at a time, pausing now and then: the pipe stays full and both writers
        # keep waiting on it, which is when a line written in pieces would be interleaved.
        while chunk := os.read(fd, 7):
            into.extend(chunk)
            if len(into) % 700 < 7:
                time.sleep(0.001)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


# Another worker: its own process and writer thread on the same pipe, with short lines, which
# fit the pipe's free space sooner than a long line's rest would.
OTHER_WORKER = """
import os, sys, time
from functools import partial
from gateway.web.accesslog import AccessLog
from gateway.wire.logline import AccessEntry
fd, count = int(sys.argv[1]), int(sys.argv[2])
access = AccessLog("json", partial(os.write, fd), interval=0.001)
access.start()
for i in range(count):
    access.put(AccessEntry(time.time(), "r", "::1", "GET", f"/other/{i}", "o", "o",
                           "forwarded", "forwarded", 200, 1, None, 0.1, None, os.getpid()))
    if i % 10 == 0:
        time.sleep(0.001)
access.stop()
"""


@pytest.mark.slow
async def test_lines_from_concurrent_requests_and_another_worker_never_interleave(
    upstream: StartUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "gateway.access")
    up = await upstream()
    read_fd, write_fd = _tiny_pipe()
    received = bytearray()
    reader = _slow_reader(read_fd, received)
    config = config_from_text(config_text(up.url), "test.yaml", SOURCES)
    poller = Poller(MemorySource(True), config.settings, jitter=lambda ttl: 0.0)
    calls: list[bytes] = []

    def write(data: bytes) -> int:
        calls.append(data)
        return os.write(write_fd, data)

    access = AccessLog("json", write, interval=0.001)
    app = create_app(config, poller=poller, access_log=access)
    count = 300
    long_path = "/office/" + "x" * 1500
    async with TestClient(TestServer(app)) as client:
        await poller.wait_ready()
        other = await asyncio.create_subprocess_exec(
            sys.executable, "-c", OTHER_WORKER, str(write_fd), str(count * 10),
            pass_fds=(write_fd,), env=ENV, cwd=ROOT,
        )  # fmt: skip

        async def one(i: int) -> None:
            async with client.get(f"{long_path}?i={i}") as resp:
                assert resp.status == 200
                await resp.read()

        await asyncio.gather(*(one(i) for i in range(count)))
        assert await other.wait() == 0
    os.close(write_fd)
    await asyncio.to_thread(reader.join, 30)
    os.close(read_fd)
    # Each write() of this worker held whole lines, short enough to be atomic on a pipe.
    assert sum(c.count(b"\n") for c in calls) == count
    assert all(c.endswith(b"\n") and len(c) <= LINE_MAX for c in calls)
    lines = bytes(received).split(b"\n")
    assert lines.pop() == b""
    parsed = [json.loads(line) for line in lines]  # a split or interleaved line fails here
    paths = [p["path"] for p in parsed]
    assert sum(p == long_path for p in paths) == count
    assert sorted(p for p in paths if p.startswith("/other/")) == sorted(
        f"/other/{i}" for i in range(count * 10)
    )


def test_lines_are_written_in_batches_of_whole_lines_within_pipe_buf() -> None:
    writes = Writes()
    access = AccessLog("json", writes, interval=3600)
    paths = [f"/{i}/" + "y" * (i % 700) for i in range(400)]
    for path in paths:
        access.put(entry(path))
    access.stop()
    # Far fewer write()s than lines (each one releases the GIL the event loop needs) ...
    assert len(writes.calls) < len(paths) / 4
    # ... each of whole lines, at most PIPE_BUF bytes, filled unless the next line did not fit.
    assert all(call.endswith(b"\n") and len(call) <= LINE_MAX for call in writes.calls)
    for call, after in zip(writes.calls, writes.calls[1:], strict=False):
        assert len(call) + len(after.split(b"\n")[0]) + 1 > LINE_MAX
    assert [json.loads(line)["path"] for line in writes.lines()] == paths


def test_a_flush_writes_what_came_before_it() -> None:
    writes = Writes()
    access = AccessLog("json", writes, interval=3600)
    access.start()
    access.put(entry("/before"))
    assert access.flush()
    assert [json.loads(line)["path"] for line in writes.lines()] == ["/before"]
    access.put(entry("/after"))
    access.stop()
    assert [json.loads(line)["path"] for line in writes.lines()] == ["/before", "/after"]


def test_stop_writes_everything_still_queued_and_ends_the_thread() -> None:
    writes = Writes()
    # An interval far longer than the test: only stop() can have written these.
    access = AccessLog("text", writes, interval=3600)
    access.start()
    for i in range(50):
        access.put(entry(f"/{i}"))
    assert writes.calls == []
    access.stop()
    lines = writes.lines()
    assert [w.split(b'"')[1] for w in lines] == [f"GET /{i}".encode() for i in range(50)]
    assert not any(t.name == "portal-gateway access log" for t in threading.enumerate())


async def test_the_apps_cleanup_flushes_the_last_lines(
    upstream: StartUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "gateway.access")
    up = await upstream()
    writes = Writes()
    access = AccessLog("json", writes, interval=3600)
    config = config_from_text(config_text(up.url), "test.yaml", SOURCES)
    poller = Poller(MemorySource(True), config.settings, jitter=lambda ttl: 0.0)
    app = create_app(config, poller=poller, access_log=access)
    async with TestClient(TestServer(app)) as client:
        await poller.wait_ready()
        async with client.get("/office/last") as resp:
            assert resp.status == 200
        assert writes.calls == []
    assert [json.loads(w)["path"] for w in writes.lines()] == ["/office/last"]


def test_a_stuck_reader_drops_lines_and_says_how_many(caplog: pytest.LogCaptureFixture) -> None:
    writes = Writes()
    access = AccessLog("json", writes, max_pending=3)
    for i in range(5):
        access.put(entry(f"/{i}"))
    with caplog.at_level(logging.WARNING, "gateway"):
        access.stop()
    assert [json.loads(w)["path"] for w in writes.lines()] == ["/0", "/1", "/2"]
    assert [r.getMessage() for r in caplog.records] == [
        "access log: 2 lines dropped (stderr not keeping up, or failing)"
    ]


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "pipe"])
def test_the_default_form_is_text_on_a_terminal_and_json_otherwise(terminal: bool) -> None:
    script = "from gateway.web.accesslog import stderr_format; print(stderr_format())"
    main, other = pty.openpty() if terminal else os.pipe()
    try:
        result = subprocess.run(
            [sys.executable, "-c", script],
            stderr=other, stdout=subprocess.PIPE, text=True, env=ENV, cwd=ROOT, timeout=30,
        )  # fmt: skip
    finally:
        os.close(main)
        os.close(other)
    assert result.stdout == ("text\n" if terminal else "json\n")
    # This process's own answer, whatever pytest gave it as stderr.
    assert stderr_format() == ("text" if os.isatty(2) else "json")


async def test_a_failing_write_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def broken(data: bytes) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    access = AccessLog("json", broken)
    access.put(entry())
    with caplog.at_level(logging.WARNING, "gateway"):
        assert access.flush()
    assert [r.getMessage() for r in caplog.records] == [
        "access log: 1 lines could not be written",
        "access log: 1 lines dropped (stderr not keeping up, or failing)",
    ]
