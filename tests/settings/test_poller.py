"""The poller with injected clocks: reads per TTL, policies, restarts and flapping."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.config import SettingsConfig
from gateway.settings.memory import MemorySource
from gateway.settings.poller import Poller
from tests.conftest import Gateway, Upstream


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class ManualSleep:
    """asyncio.sleep stand-in: the poller's loop advances only when the test says so."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.requested: list[float] = []
        self._wake = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.requested.append(seconds)
        self._wake.clear()
        await self._wake.wait()

    async def tick(self, seconds: float) -> None:
        self.clock.now += seconds
        self._wake.set()
        for _ in range(20):  # let the loop run its read and go back to sleep
            await asyncio.sleep(0)


def make(source: MemorySource, clock: Clock | None = None, **cfg: Any) -> tuple[Poller, Clock]:
    clock = clock or Clock()
    config = SettingsConfig(source="memory://", **cfg)
    return Poller(source, config, clock=clock, wall=clock, jitter=lambda ttl: 0.25), clock


async def test_one_read_per_ttl_whatever_the_traffic(
    upstream: Callable[..., Awaitable[Upstream]], gateway: Callable[..., Awaitable[Gateway]]
) -> None:
    up = await upstream()
    sleep = ManualSleep(Clock())  # the background loop's clock stands still during the burst
    gw = await gateway(up.url, sleep=sleep)
    assert isinstance(gw.source, MemorySource)
    await sleep.tick(0.0)  # the first (jittered) read
    reads_before = gw.source.reads
    assert reads_before == 2  # the fixture's own refresh, then the loop's first read

    async def one(i: int) -> int:
        async with gw.client.get(f"/page/{i}") as resp:
            await resp.read()
            return resp.status

    statuses = await asyncio.gather(*(one(i) for i in range(1000)))
    assert statuses == [200] * 1000
    # Requests never read the store: only the poller does, on its own schedule.
    assert gw.source.reads == reads_before
    await sleep.tick(2.0)
    assert gw.source.reads == reads_before + 1


async def test_background_loop_reads_once_per_ttl_after_a_jittered_start() -> None:
    clock = Clock()
    sleep = ManualSleep(clock)
    source = MemorySource(True)
    poller = Poller(
        source,
        SettingsConfig(source="memory://", ttl=2.0),
        clock=clock,
        wall=clock,
        jitter=lambda ttl: 0.7,
        sleep=sleep,
    )
    await poller.start()
    await asyncio.sleep(0)
    assert sleep.requested == [0.7] and source.reads == 0
    await sleep.tick(0.7)
    assert source.reads == 1 and poller.state.enabled
    for expected in (2, 3, 4):
        await sleep.tick(2.0)
        assert source.reads == expected
    assert sleep.requested[1:] == [2.0, 2.0, 2.0, 2.0]
    await poller.stop()


async def test_concurrent_refreshes_share_one_read() -> None:
    source = MemorySource(True)
    poller, _ = make(source)
    source.hang()
    waiters = [asyncio.create_task(poller.refresh()) for _ in range(50)]
    await asyncio.sleep(0)
    source.set(False)
    await asyncio.gather(*waiters)
    assert source.reads == 1
    assert poller.state.enabled is False


async def test_a_hanging_store_never_blocks_the_state_and_times_out() -> None:
    source = MemorySource(True)
    poller, _ = make(source, timeout=0.2)
    await poller.refresh()
    assert poller.state.enabled
    source.hang()
    read = asyncio.create_task(poller.refresh())
    for _ in range(1000):
        assert poller.state.enabled  # answered at once while the read hangs
    await read
    assert poller.state.last_error == "memory://: no answer within 0.2s"
    assert poller.state.enabled  # last-known kept


@pytest.mark.parametrize(
    ("on_error", "last", "expected"),
    [
        ("last-known", True, True),
        ("last-known", False, False),
        ("disabled", True, False),
        ("enabled", False, True),
    ],
)
async def test_on_error_policies(on_error: str, last: bool, expected: bool) -> None:
    source = MemorySource(last)
    poller, _ = make(source, on_error=on_error)
    await poller.refresh()
    source.fail("connection refused")
    await poller.refresh()
    assert poller.state.enabled is expected
    assert poller.state.last_error == "memory://: connection refused"
    source.set(last)
    await poller.refresh()
    assert poller.state.enabled is last
    assert poller.state.last_error is None


@pytest.mark.parametrize(("cold_start", "expected"), [("disabled", False), ("enabled", True)])
async def test_cold_start_without_any_value(cold_start: str, expected: bool) -> None:
    source = MemorySource(True)
    source.fail("unreachable")
    poller, _ = make(source, cold_start=cold_start)
    poller._recompute()
    assert poller.state.enabled is expected
    await poller.refresh()
    assert poller.state.enabled is expected


async def test_a_store_error_never_turns_the_portal_on() -> None:
    for value in ("garbage", None, 2, "disabled"):
        source = MemorySource(False)
        poller, _ = make(source)
        await poller.refresh()
        source.set(value)
        await poller.refresh()
        assert poller.state.enabled is False, value


async def test_max_stale_turns_a_last_known_enabled_into_disabled() -> None:
    source = MemorySource(True)
    poller, clock = make(source, max_stale=30.0)
    await poller.refresh()
    source.fail("down")
    clock.now += 20
    await poller.refresh()
    assert poller.state.enabled  # shorter than max_stale: last-known
    clock.now += 20
    await poller.refresh()
    assert poller.state.enabled is False  # longer: fail closed
    source.set(True)
    await poller.refresh()
    assert poller.state.enabled


async def test_subscribers_hear_transitions_only() -> None:
    source = MemorySource(True)
    poller, _ = make(source)
    heard: list[bool] = []
    poller.state.subscribe(heard.append)
    for value in (True, True, False, False, "off", True):
        source.set(value)
        await poller.refresh()
    assert heard == [True, False, True]


async def test_flapping_moves_the_last_disable_every_time() -> None:
    source = MemorySource(True)
    poller, clock = make(source)
    moments = []
    for _ in range(3):
        clock.now += 5
        source.set(False)
        await poller.refresh()
        moments.append(poller.state.last_disabled_at)
        clock.now += 5
        source.set(True)
        await poller.refresh()
        assert poller.state.enabled
    assert moments == [1005.0, 1015.0, 1025.0]


async def test_a_disable_between_two_polls_is_not_missed() -> None:
    source = MemorySource(True, changed_at=100.0)
    poller, _ = make(source)
    await poller.refresh()
    assert poller.state.last_disabled_at == 100.0  # first sight: bounded by the change time
    # Staff disabled and re-enabled within one TTL: the store's change time moved.
    source.set(True, changed_at=160.0)
    await poller.refresh()
    assert poller.state.last_disabled_at == 160.0


async def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state" / "portal.json"
    source = MemorySource(True)
    poller, _ = make(source, state_file=str(state))
    await poller.refresh()
    source.set(False)
    await poller.refresh()
    assert json.loads(state.read_text()) == {
        "enabled": False,
        "last_disabled_at": 1000.0,
        "last_success_at": 1000.0,
    }
    assert [p.name for p in state.parent.iterdir()] == ["portal.json"]  # no temporary left behind
    # A new process whose store is unreachable at start: last-known disabled, same last disable.
    dead = MemorySource(True)
    dead.fail("unreachable")
    again, _ = make(dead, Clock(2000.0), state_file=str(state), cold_start="enabled")
    await again.start()
    try:
        assert again.state.enabled is False
        assert again.state.last_disabled_at == 1000.0
    finally:
        await again.stop()


async def test_state_file_older_than_max_stale_is_not_trusted(tmp_path: Path) -> None:
    state = tmp_path / "portal.json"
    state.write_text(
        json.dumps({"enabled": True, "last_disabled_at": None, "last_success_at": 1000.0})
    )
    dead = MemorySource(True)
    dead.fail("unreachable")
    poller, _ = make(dead, Clock(5000.0), state_file=str(state), max_stale=60.0)
    await poller.start()
    try:
        assert poller.state.enabled is False  # cold start (disabled), not the stale "enabled"
    finally:
        await poller.stop()


async def test_corrupt_state_file_is_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "portal.json"
    state.write_text("{not json")
    poller, _ = make(MemorySource(True), state_file=str(state))
    await poller.start()
    try:
        assert "ignoring unreadable state file" in caplog.text
        await poller.refresh()
        assert poller.state.enabled
    finally:
        await poller.stop()


async def test_first_sight_of_an_enabled_store_bounds_old_sessions_by_its_change_time() -> None:
    source = MemorySource(True, changed_at=500.0)
    poller, _ = make(source)
    await poller.refresh()
    # The setting last changed to "enabled" at 500: whatever came before may have been a
    # disable this process never saw, so sessions older than 500 must log in again.
    assert poller.state.last_disabled_at == 500.0
    await poller.refresh()
    assert poller.state.last_disabled_at == 500.0


async def test_a_disable_while_the_process_was_down_is_not_missed(tmp_path: Path) -> None:
    state = tmp_path / "portal.json"
    state.write_text(
        json.dumps({"enabled": True, "last_disabled_at": None, "last_success_at": 1000.0})
    )
    # Staff switched off and on again at 1500, while no gateway process was watching.
    changed = MemorySource(True, changed_at=1500.0)
    poller, _ = make(changed, Clock(2000.0), state_file=str(state))
    await poller.start()
    try:
        await poller.refresh()
        assert poller.state.last_disabled_at == 1500.0
    finally:
        await poller.stop()
    # Nothing changed while it was down: nothing is invented.
    state.write_text(
        json.dumps({"enabled": True, "last_disabled_at": None, "last_success_at": 1000.0})
    )
    same = MemorySource(True, changed_at=900.0)
    again, _ = make(same, Clock(2000.0), state_file=str(state))
    await again.start()
    try:
        await again.refresh()
        assert again.state.last_disabled_at is None
    finally:
        await again.stop()
