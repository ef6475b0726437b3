"""The registry of live customer exchanges: what a disable does in each state, on its own.

End-to-end cases (a real upstream, the portal flipped mid-phase) are in
tests/behaviour/test_inflight_disable.py and tests/edge/test_websocket.py; these pin the rules they rest on.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from gateway.edge.exchanges import Cut, Exchanges, LiveExchange, Phase


@pytest.mark.parametrize(
    ("method", "has_body", "last_byte", "committed"),
    [
        ("GET", False, True, False),  # safe and body-less: never committed (streams are cut)
        ("HEAD", False, True, False),
        ("OPTIONS", False, True, False),
        ("GET", True, True, True),  # a body that reached the upstream complete
        ("POST", True, False, False),  # still arriving
        ("POST", True, True, True),
        ("POST", False, True, True),  # unsafe: the head was its last byte
        ("DELETE", False, False, False),  # head not written yet
        ("PATCH", False, True, True),
    ],
)
def test_committed_means_last_byte_written_and_able_to_change_state(
    method: str, has_body: bool, last_byte: bool, committed: bool
) -> None:
    exchange = Exchanges().register(method)
    exchange.has_body = has_body
    if last_byte:
        exchange.wrote_last_byte()
    assert exchange.committed is committed


async def test_a_disable_ends_uncommitted_exchanges_and_spares_unheld_ones() -> None:
    registry = Exchanges()
    held, admitted = registry.register("GET"), registry.register("GET", held=False)
    closed: list[str] = []
    held.on_cut(lambda: closed.append("held"))
    admitted.on_cut(lambda: closed.append("admitted"))
    assert registry.on_disable(grace=30) == 1
    assert (held.cut, admitted.cut, closed) == (True, False, ["held"])
    with pytest.raises(Cut):
        held.check()
    admitted.check()
    # A closer registered after the cut runs at once: a late phase never misses it.
    held.on_cut(lambda: closed.append("late"))
    assert closed == ["held", "late"]


async def test_run_raises_cut_for_a_disable_and_cancelled_for_the_callers_own_cancel() -> None:
    registry = Exchanges()
    exchange = registry.register("GET")
    waiting = asyncio.Event()

    async def upstream_call() -> str:
        waiting.set()
        await asyncio.sleep(30)
        return "never"

    running = asyncio.create_task(exchange.run(upstream_call()))
    await waiting.wait()
    registry.on_disable(grace=30)
    with pytest.raises(Cut):
        await running
    with pytest.raises(Cut):  # once cut, nothing more is started
        await exchange.run(upstream_call())

    other = registry.register("GET")
    waiting.clear()
    running = asyncio.create_task(other.run(upstream_call()))
    await waiting.wait()
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert other.cut is False


async def test_run_awaits_in_the_callers_task_and_leaves_it_uncancelled() -> None:
    # No task per exchange: the disable cancels the caller's own task while it is inside
    # `run`, and takes that cancel back once it is `Cut`, so the handler goes on normally.
    registry = Exchanges()
    waiting = asyncio.Event()
    seen: dict[str, object] = {}

    async def upstream_call() -> None:
        seen["task"] = asyncio.current_task()
        waiting.set()
        await asyncio.sleep(30)

    async def handler(exchange: LiveExchange) -> str:
        try:
            await exchange.run(upstream_call())
        except Cut:
            current = asyncio.current_task()
            assert current is not None and current.cancelling() == 0
            await asyncio.sleep(0)  # no cancel left pending: the handler can still await
            return "cut"
        return "done"

    exchange = registry.register("GET")
    running = asyncio.create_task(handler(exchange))
    await waiting.wait()
    assert seen["task"] is running
    registry.on_disable(grace=30)
    assert await running == "cut"

    # A shutdown's cancel together with the disable's is still a cancellation.
    both = registry.register("GET")
    waiting.clear()
    running = asyncio.create_task(handler(both))
    await waiting.wait()
    running.cancel()
    registry.on_disable(grace=30)
    with pytest.raises(asyncio.CancelledError):
        await running

    # An awaited call that turns the cancel into its own error: that error, no cancel left.
    async def converting() -> None:
        waiting.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            raise ConnectionResetError("closed") from None

    async def caller(exchange: LiveExchange) -> int:
        with pytest.raises(ConnectionResetError):
            await exchange.run(converting())
        current = asyncio.current_task()
        assert current is not None
        return current.cancelling()

    third = registry.register("GET")
    waiting.clear()
    counted = asyncio.create_task(caller(third))
    await waiting.wait()
    registry.on_disable(grace=30)
    assert await counted == 0 and third.cut


async def test_a_committed_exchange_is_cut_only_when_its_grace_runs_out() -> None:
    registry = Exchanges()
    exchange = registry.register("POST")
    exchange.has_body = True
    exchange.wrote_last_byte()
    exchange.phase = Phase.RELAYING
    registry.on_disable(grace=0.05)
    assert exchange.cut is False
    registry.on_disable(grace=30)  # a second disable does not extend the first bound
    await asyncio.sleep(0.1)
    assert exchange.cut is True

    finished = registry.register("POST")
    finished.has_body = True
    finished.wrote_last_byte()
    finished.phase = Phase.RELAYING
    registry.on_disable(grace=0.05)
    finished.done()  # its last byte went out in time
    await asyncio.sleep(0.1)
    assert finished.cut is False


async def test_a_committed_exchange_without_an_answer_yet_is_cut_at_once() -> None:
    registry = Exchanges()
    exchange = registry.register("POST")
    exchange.has_body = True
    exchange.wrote_last_byte()
    exchange.phase = Phase.UPSTREAM  # waiting for the answer's head
    registry.on_disable(grace=30)
    assert exchange.cut is True


async def test_counts_by_phase_and_done_forgets() -> None:
    registry = Exchanges()
    first, second = registry.register("GET"), registry.register("GET")
    second.phase = Phase.RELAYING
    assert registry.counts() == {
        Phase.ADMITTED: 1,
        Phase.UPSTREAM: 0,
        Phase.RELAYING: 1,
        Phase.WEBSOCKET: 0,
    }
    first.done()
    second.done()
    assert (len(registry), registry.on_disable(grace=1)) == (0, 0)


async def test_a_failing_ending_is_logged_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = Exchanges()
    exchange = registry.register("GET")
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("peer gone")

    async def broken_later() -> None:
        raise RuntimeError("close handshake failed")

    exchange.on_cut(broken)
    exchange.on_cut(lambda: ran.append("second"))
    exchange.on_cut(lambda: exchange.spawn(broken_later()))
    with caplog.at_level(logging.ERROR, logger="gateway.exchanges"):
        registry.on_disable(grace=1)
        await registry.wait_closed()
    assert ran == ["second"]
    assert [r.getMessage() for r in caplog.records] == [
        "cutting a customer exchange failed",
        "ending a customer exchange failed",
    ]
