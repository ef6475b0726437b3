"""The in-process exchange rules as a table: phase x committed -> what a disable does."""

from __future__ import annotations

import asyncio
import logging

import pytest

from gateway.plugin.inflight import InFlight, Live, Phase


async def _forever() -> None:
    await asyncio.Event().wait()


def _live(registry: InFlight, method: str = "GET", body: bool = False) -> Live:
    live = registry.register(method, body)
    live.task = asyncio.ensure_future(_forever())
    return live


@pytest.mark.parametrize(
    ("method", "body", "committed"),
    [("GET", False, False), ("HEAD", False, False), ("GET", True, True), ("POST", False, True)],
)
def test_committed_is_the_method_and_the_body(method: str, body: bool, committed: bool) -> None:
    assert InFlight().register(method, body).committed is committed


@pytest.mark.parametrize(
    ("method", "phase", "cancelled", "closed"),
    [
        ("GET", None, True, False),  # a safe handler: cancelled, the page answers now
        ("POST", None, False, False),  # may change state: runs to its end
        ("GET", Phase.STREAMING, True, True),  # a stream: aborted and cancelled
        ("GET", Phase.WEBSOCKET, False, True),  # a socket: closed, the handler returns itself
        ("POST", Phase.WEBSOCKET, False, True),
    ],
)
async def test_what_a_disable_does(
    method: str, phase: Phase | None, cancelled: bool, closed: bool
) -> None:
    registry = InFlight()
    live = _live(registry, method)
    closes: list[str] = []
    if phase is not None:
        live.streaming(lambda: closes.append("closed"), websocket=phase is Phase.WEBSOCKET)
        assert live.phase is phase
    assert registry.on_disable(grace=5) == 1
    await asyncio.sleep(0)
    assert live.cut
    assert live.task is not None
    assert live.task.cancelled() is cancelled
    assert closes == (["closed"] if closed else [])
    live.task.cancel()
    live.done()
    assert len(registry) == 0
    assert live.finished


async def test_a_committed_stream_is_cut_after_the_grace_unless_done() -> None:
    registry = InFlight()
    late, early = _live(registry, "POST"), _live(registry, "POST")
    closes: list[str] = []
    late.streaming(lambda: closes.append("late"))
    early.streaming(lambda: closes.append("early"))
    registry.on_disable(grace=0.05)
    registry.on_disable(grace=0.05)  # a second disable does not restart the clock
    assert not late.cut and not early.cut
    early.done()  # finished within the grace
    await asyncio.sleep(0.1)
    assert late.cut and closes == ["late"]
    assert not early.cut
    assert late.task is not None and late.task.cancelled()


async def test_an_answer_started_after_the_cut_is_closed_at_once() -> None:
    live = _live(InFlight(), "POST")
    live.disable(grace=5)
    assert live.cut
    closes: list[str] = []
    live.streaming(lambda: closes.append("closed"), websocket=True)
    assert closes == ["closed"]
    live.disable(grace=5)  # already cut: nothing more
    assert closes == ["closed"]


async def test_one_broken_closer_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    registry = InFlight()
    broken, fine = _live(registry), _live(registry)

    def fail() -> None:
        raise OSError("gone")

    closes: list[str] = []
    broken.streaming(fail)
    fine.streaming(lambda: closes.append("fine"))
    with caplog.at_level(logging.ERROR, "gateway.plugin"):
        registry.on_disable(grace=5)
    assert closes == ["fine"]
    assert "cutting a customer request failed" in caplog.text


async def test_spawned_endings_are_awaited_and_failures_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = InFlight()
    ended: list[str] = []

    async def close() -> None:
        await asyncio.sleep(0.01)
        ended.append("closed")

    async def broken() -> None:
        raise OSError("gone")

    registry.spawn(close())
    with caplog.at_level(logging.ERROR, "gateway.plugin"):
        registry.spawn(broken())
        await registry.wait_closed()
    assert ended == ["closed"]
    assert "ending a customer request failed" in caplog.text
