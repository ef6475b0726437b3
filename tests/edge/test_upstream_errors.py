"""Upstream failures: each counted, the first after a quiet spell logged at once, the rest one
summary line per interval (on an injected clock), and each exception given its kind."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import aiohttp
import pytest

from gateway.edge.upstream_errors import (
    PoolWatch,
    UpstreamErrors,
    _queued_end,
    _queued_start,
    failure_kind,
    watch_pool,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "gateway.proxy"]


def test_a_burst_is_one_line_then_one_summary_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "gateway.proxy")
    clock = Clock()
    counted: list[tuple[str, str]] = []
    errors = UpstreamErrors(lambda up, kind: counted.append((up, kind)), interval=10, clock=clock)
    errors.failed("app", "refused", "(http://a) refused: connection failed", "r1")
    for n in range(1000):
        clock.now += 0.001
        errors.failed("app", "refused", f"(http://a) refused: try {n}", f"r{n}")
    errors.failed("api", "timeout", "(http://b) timeout: timed out", "r-b")
    assert len(counted) == 1002 and counted[-1] == ("api", "timeout")
    assert _lines(caplog) == [
        "upstream app: (http://a) refused: connection failed [request r1] "
        "(further upstream errors: one line per 10s)"
    ]
    clock.now += 9
    errors.flush_due()
    assert len(_lines(caplog)) == 1  # not due yet
    clock.now += 1
    errors.failed("app", "reset", "(http://a) reset: ServerDisconnectedError", "r-last")
    assert _lines(caplog)[1:] == [
        "1002 more upstream errors in the last 11s: api timeout 1, app refused 1000, "
        "app reset 1 (last: upstream app: (http://a) reset: ServerDisconnectedError)"
    ]


def test_a_quiet_interval_makes_the_next_failure_a_line_of_its_own(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "gateway.proxy")
    clock = Clock()
    errors = UpstreamErrors(interval=10, clock=clock)
    errors.failed("app", "refused", "first", "r1")
    clock.now += 10
    errors.flush_due()  # nothing since the first: no summary, and quiet from now
    assert len(_lines(caplog)) == 1
    errors.failed("app", "refused", "second", "r2")
    assert _lines(caplog)[1] == (
        "upstream app: second [request r2] (further upstream errors: one line per 10s)"
    )
    errors.flush()
    assert len(_lines(caplog)) == 2


def test_each_failure_is_at_debug_with_its_request_id(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, "gateway.proxy")
    errors = UpstreamErrors(clock=Clock())
    errors.failed("app", "timeout", "(http://a) timeout: timed out", "r9")
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert debug == ["upstream app timeout: (http://a) timeout: timed out [request r9]"]


def _connector_error() -> aiohttp.ClientConnectorError:
    key = aiohttp.client_reqrep.ConnectionKey("a", 1, False, True, None, None, None)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))


def test_each_exception_has_its_kind() -> None:
    waiting = PoolWatch()
    waiting.waiting = True
    assert failure_kind(TimeoutError()) == "timeout"
    assert failure_kind(aiohttp.ConnectionTimeoutError(), PoolWatch()) == "timeout"
    assert failure_kind(aiohttp.ConnectionTimeoutError(), waiting) == "pool_exhausted"
    assert failure_kind(_connector_error()) == "refused"
    assert failure_kind(aiohttp.ServerDisconnectedError()) == "reset"
    assert failure_kind(aiohttp.ClientOSError(104, "Connection reset by peer")) == "reset"
    assert failure_kind(aiohttp.ClientPayloadError("cut")) == "reset"
    assert failure_kind(ConnectionResetError()) == "reset"
    assert failure_kind(ValueError("bad header")) == "other"


async def test_the_trace_marks_this_tasks_watch_until_it_is_stopped() -> None:
    watch = watch_pool()
    assert watch.waiting is False
    await _queued_start(None, SimpleNamespace(), None)
    assert watch.waiting is True
    await _queued_end(None, SimpleNamespace(), None)
    assert watch.waiting is False
    watch.stop()
    await _queued_start(None, SimpleNamespace(), None)
    assert watch.waiting is False  # no longer this task's
