"""The poller with injected clocks: reads per TTL, policies, restarts and flapping."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.config import SettingsConfig
from gateway.settings import make_source
from gateway.settings.poller import Poller
from gateway.settings.statefile import SavedState, save_state
from gateway.testing import MemorySource
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


def effective(poller: Poller) -> bool:
    """The state now (a call, so mypy does not carry a narrowed value across awaits)."""
    return poller.state.enabled


def last_error(poller: Poller) -> str | None:
    """The last error now (a call, so mypy does not carry a narrowed value across awaits)."""
    return poller.state.last_error


def make(source: MemorySource, clock: Clock | None = None, **cfg: Any) -> tuple[Poller, Clock]:
    clock = clock or Clock()
    config = SettingsConfig(source="memory://", **cfg)
    return Poller(source, config, clock=clock, wall=clock, jitter=lambda ttl: 0.25), clock


@pytest.mark.slow
async def test_one_read_per_ttl_whatever_the_traffic(
    upstream: Callable[..., Awaitable[Upstream]], gateway: Callable[..., Awaitable[Gateway]]
) -> None:
    up = await upstream()
    sleep = ManualSleep(Clock())  # the background loop's clock stands still during the burst
    gw = await gateway(up.url, sleep=sleep)
    assert isinstance(gw.source, MemorySource)
    reads_before = gw.source.reads
    assert reads_before == 1  # the first read, at start; the next one waits for its TTL

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


async def test_the_first_read_is_at_start_and_jitter_only_moves_the_second_earlier() -> None:
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
    for _ in range(5):
        await asyncio.sleep(0)
    # No sleep before the first read: a restarted process is ready as soon as the store answers.
    assert (source.reads, poller.state.ready, effective(poller)) == (1, True, True)
    # The second read comes up to `jitter` early, never late (within one TTL of the first).
    assert sleep.requested == [1.3]
    await sleep.tick(1.3)
    assert source.reads == 2
    for expected in (3, 4):
        await sleep.tick(2.0)
        assert source.reads == expected
    assert sleep.requested == [1.3, 2.0, 2.0, 2.0]
    await poller.stop()


async def test_a_jitter_longer_than_the_ttl_never_delays_the_second_read() -> None:
    clock = Clock()
    sleep = ManualSleep(clock)
    poller = Poller(
        MemorySource(True),
        SettingsConfig(source="memory://", ttl=0.5),
        clock=clock,
        jitter=lambda ttl: 9.0,
        sleep=sleep,
    )
    await poller.start()
    for _ in range(5):
        await asyncio.sleep(0)
    assert sleep.requested == [0.0]
    await poller.stop()


def _fail(source: MemorySource) -> None:
    source.fail("connection refused")


@pytest.mark.parametrize(
    ("outcome", "enabled"),
    [
        (lambda source: source.set(True), True),
        (_fail, False),  # cold start: disabled
        (None, False),  # the store never answers: ready at the timeout, cold start applies
    ],
    ids=["answered", "failed", "timed-out"],
)
async def test_ready_when_the_first_read_finishes_whatever_its_outcome(
    outcome: Callable[[MemorySource], None] | None, enabled: bool
) -> None:
    source = MemorySource(True)
    source.hang()
    clock = Clock()
    poller = Poller(
        source,
        SettingsConfig(source="memory://", ttl=2.0, timeout=0.05),
        clock=clock,
        jitter=lambda ttl: 0.0,
        sleep=ManualSleep(clock),
    )
    await poller.start()
    for _ in range(5):
        await asyncio.sleep(0)
    assert (source.reads, poller.state.ready) == (1, False)  # asked, not answered: not ready
    if outcome is not None:
        outcome(source)
    await poller.refresh()  # joins the first read
    assert (source.reads, poller.state.ready, effective(poller)) == (1, True, enabled)
    await poller.stop()


async def test_a_state_file_gives_the_value_but_readiness_waits_for_the_store(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state.json"
    save_state(str(state), SavedState(True, None, 990.0))
    source = MemorySource(False)
    source.hang()
    poller, _ = make(source, state_file=str(state))
    await poller.start()
    assert (poller.state.ready, effective(poller)) == (False, True)  # the saved value serves
    source.set(False)
    await poller.refresh()
    assert (poller.state.ready, effective(poller)) == (True, False)
    await poller.stop()


async def test_ready_stays_true_through_store_errors_and_staleness() -> None:
    source = MemorySource(True)
    poller, clock = make(source, max_stale=10.0, timeout=0.05)
    await poller.refresh()
    source.fail("down")
    for _ in range(3):
        clock.now += 20
        await poller.refresh()
        assert (poller.state.ready, effective(poller)) == (True, False)
    source.hang()
    await poller.refresh()
    assert poller.state.ready


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
    await poller.start()  # the policy applies at once, before the first read has answered
    assert (poller.state.ready, poller.state.enabled) == (False, expected)
    await poller.refresh()
    assert (poller.state.ready, poller.state.enabled) == (True, expected)
    await poller.stop()


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
    assert effective(poller) is True  # shorter than max_stale: last-known
    clock.now += 20
    await poller.refresh()
    assert effective(poller) is False  # longer: fail closed
    source.set(True)
    await poller.refresh()
    assert effective(poller) is True


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


async def test_first_sight_of_an_enabled_store_bounds_old_sessions_by_its_change_time() -> None:
    source = MemorySource(True, changed_at=500.0)
    poller, _ = make(source)
    await poller.refresh()
    # The setting last changed to "enabled" at 500: whatever came before may have been a
    # disable this process never saw, so sessions older than 500 must log in again.
    assert poller.state.last_disabled_at == 500.0
    await poller.refresh()
    assert poller.state.last_disabled_at == 500.0


async def test_the_state_is_read_only_and_ready_after_the_first_read() -> None:
    poller, _ = make(MemorySource(True))
    assert (poller.state.ready, effective(poller)) == (False, False)
    await poller.refresh()
    assert (poller.state.ready, effective(poller)) == (True, True)
    with pytest.raises(AttributeError):
        poller.state.enabled = False  # type: ignore[misc]


async def test_stop_cancels_a_hanging_read_and_closes_the_source() -> None:
    source = MemorySource(True)
    source.hang()
    poller, _ = make(source, timeout=60.0)
    await poller.start()
    read = asyncio.create_task(poller.refresh())
    await asyncio.sleep(0)
    await poller.stop()
    with pytest.raises(asyncio.CancelledError):
        await read
    assert poller.state.enabled is False
    assert [t for t in asyncio.all_tasks() if t.get_name().startswith("settings")] == []


@pytest.mark.parametrize(("changed_at", "expected"), [(None, 1000.0), (400.0, 400.0)])
async def test_a_store_disabled_at_the_first_read_still_records_the_disable(
    changed_at: float | None, expected: float
) -> None:
    poller, _ = make(MemorySource(False, changed_at=changed_at))
    await poller.refresh()
    # SECURITY: sessions from before this process started are invalidated too.
    assert poller.state.last_disabled_at == expected
    await poller.refresh()
    assert poller.state.last_disabled_at == expected


async def test_unsubscribe_and_a_failing_subscriber(caplog: pytest.LogCaptureFixture) -> None:
    source = MemorySource(True)
    poller, _ = make(source)
    heard: list[bool] = []

    def broken(enabled: bool) -> None:
        raise RuntimeError("subscriber bug")

    poller.state.subscribe(broken)
    unsubscribe = poller.state.subscribe(heard.append)
    await poller.refresh()
    source.set(False)
    await poller.refresh()
    unsubscribe()
    unsubscribe()  # twice is harmless
    source.set(True)
    await poller.refresh()
    assert heard == [True, False]
    assert poller.state.enabled
    assert "customer portal state subscriber failed" in caplog.text


async def test_transitions_and_errors_are_logged_without_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger="gateway.settings")
    source = MemorySource(True)
    poller, _ = make(source)
    await poller.refresh()
    source.set(False)
    await poller.refresh()
    transitions = [r for r in caplog.records if r.getMessage().startswith("customer portal")]
    assert [r.getMessage() for r in transitions] == [
        "customer portal enabled, cause store (source memory://)",
        "customer portal disabled, cause store (source memory://)",
    ]
    assert all(r.name == "gateway.settings" for r in transitions)

    cfg = SettingsConfig(
        source="http://ops:s3cret@127.0.0.1:1/s", options={"field": "enabled"}, timeout=1.0
    )

    http = Poller(make_source(cfg), cfg, jitter=lambda ttl: 0.0)
    try:
        await http.refresh()
    finally:
        await http.stop()
    assert http.state.last_error is not None
    assert http.state.last_error.startswith("http://ops:***@127.0.0.1:1/s: ")
    assert http.state.source == "http://ops:***@127.0.0.1:1/s"
    assert "s3cret" not in caplog.text
    assert "settings read failed: http://ops:***@127.0.0.1:1/s" in caplog.text


async def test_a_thousand_concurrent_readers_never_reach_the_store() -> None:
    source = MemorySource(True)
    poller, _ = make(source)
    await poller.refresh()

    async def reader() -> bool:
        await asyncio.sleep(0)
        return poller.state.enabled

    source.hang()  # even with the store hanging, every reader answers at once
    results = await asyncio.gather(*(reader() for _ in range(1000)))
    assert results == [True] * 1000
    assert source.reads == 1


@pytest.mark.parametrize(
    ("changed_at", "why"),
    [
        (float("nan"), "nan is not a finite number"),
        (float("inf"), "inf is not a finite number"),
        (-1.0, "-1.0 is before 1970"),
        (1_010.0 + 86_401, "87411.0 is more than a day ahead of this clock"),
    ],
)
async def test_a_change_time_that_cannot_date_a_disable_never_erases_one(
    changed_at: float, why: str
) -> None:
    source = MemorySource(False, changed_at=500.0)
    poller, clock = make(source)
    await poller.refresh()
    assert poller.state.last_disabled_at == 500.0
    clock.now += 10
    source.set(True, changed_at=changed_at)  # any source: the poller checks on its own clock
    await poller.refresh()
    assert poller.state.last_error == f"memory://: change time {why}"
    assert (poller.state.last_disabled_at, effective(poller)) == (500.0, False)
    source.set(
        True, changed_at=900.0
    )  # re-enabled at 900: the disable is recorded as lasting until then
    await poller.refresh()
    assert last_error(poller) is None
    assert (poller.state.last_disabled_at, effective(poller)) == (900.0, True)


@pytest.mark.parametrize(
    ("changed_at", "state_file", "warned"),
    [(None, False, True), (700.0, False, False), (None, True, False)],
)
async def test_a_store_without_a_change_time_warns_once_that_a_restart_forgets(
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    changed_at: float | None,
    state_file: bool,
    warned: bool,
) -> None:
    # redis:// may or may not hold `<key>:changed_at`: only the first read can tell.
    cfg: dict[str, Any] = {"state_file": str(tmp_path / "s.json")} if state_file else {}
    poller = Poller(
        MemorySource(True, changed_at),
        SettingsConfig(source="redis://cache/0", options={"key": "k"}, **cfg),
    )
    for _ in range(3):
        await poller.refresh()
    forgets = [r for r in caplog.records if "a restart forgets" in r.getMessage()]
    assert [(r.levelname, r.getMessage()) for r in forgets] == (
        [
            (
                "WARNING",
                "settings store memory:// gave no change time and settings.state_file is not "
                "set: a restart forgets the last disable, so sessions from before a disable "
                "that happened before the restart would be resumed",
            )
        ]
        if warned
        else []
    )


def cause(poller: Poller) -> str:
    """The cause now (a call, so mypy does not carry a narrowed value across awaits)."""
    return poller.state.cause


async def test_a_store_outage_is_store_unavailable_with_what_the_store_last_said() -> None:
    source = MemorySource(True, changed_at=900.0)
    poller, clock = make(source)
    await poller.start()  # the first read is in flight: nothing trusted yet
    assert (cause(poller), poller.state.store_value, poller.state.last_read_at) == (
        "cold_start",
        None,
        None,
    )
    await poller.refresh()
    state = poller.state
    assert (effective(poller), cause(poller)) == (True, "store")
    assert (state.store_value, state.store_changed_at) == (True, 900.0)
    assert state.last_read_at == state.last_success_at == 1_000.0
    source.fail("connection refused")
    clock.now = 1_002.0
    await poller.refresh()
    # The customers' answer is the last known one; why is no longer staff's setting.
    assert (effective(poller), cause(poller)) == (True, "store_unavailable")
    assert (state.store_value, state.store_changed_at) == (True, 900.0)  # kept
    assert (state.last_read_at, state.last_success_at) == (1_002.0, 1_000.0)
    assert last_error(poller) == "memory://: connection refused"
    source.set(False, changed_at=1_003.0)
    clock.now = 1_004.0
    await poller.refresh()
    assert (effective(poller), cause(poller), last_error(poller)) == (False, "store", None)
    assert (state.store_value, state.store_changed_at, state.last_disabled_at) == (
        False,
        1_003.0,
        1_003.0,
    )
    await poller.stop()


async def test_a_failing_first_read_is_store_unavailable_and_an_old_value_stale() -> None:
    source = MemorySource(True)
    source.fail("unreachable")
    poller, clock = make(source, max_stale=30.0)
    await poller.refresh()
    assert (effective(poller), cause(poller)) == (False, "store_unavailable")  # cold start's value
    source.set(True)
    await poller.refresh()
    source.fail("down")
    clock.now += 40
    await poller.refresh()
    assert (effective(poller), cause(poller)) == (False, "stale")
    assert poller.state.store_value is True  # what the store last said, though no longer served


async def test_a_restored_value_is_the_stores_last_answer(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    save_state(str(state_file), SavedState(False, 950.0, 990.0))
    source = MemorySource(True)
    source.hang()
    poller, _ = make(source, state_file=str(state_file))
    await poller.start()
    assert (effective(poller), cause(poller), poller.state.store_value) == (False, "store", False)
    assert (poller.state.last_read_at, poller.state.store_changed_at) == (None, None)
    source.set(True)
    await poller.stop()


async def test_a_lasting_read_error_is_logged_once_a_minute_with_a_count_then_cleared(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("WARNING", logger="gateway.settings")
    source = MemorySource(True)
    poller, clock = make(source)
    await poller.refresh()
    caplog.clear()  # the start-up lines
    source.fail("connection refused")
    for _ in range(31):  # a read every 2 s for a minute: the first one, then 30 more
        await poller.refresh()
        clock.now += 2.0
    source.fail("timed out")  # the latest error is the one repeated
    for _ in range(20):
        await poller.refresh()
        clock.now += 2.0
    source.set(True)
    await poller.refresh()
    lines = [r.getMessage() for r in caplog.records if r.name == "gateway.settings"]
    assert lines == [
        "settings read failed: memory://: connection refused (on_error: last-known)",
        # A minute on: the error again, with how many reads failed since the first line.
        "settings read still failing: memory://: connection refused "
        "(30 failed reads in the last 60s; on_error: last-known)",
        # 20 more failed reads, 40 s: not yet a minute, no line; then one line as it clears.
        "settings store readable again (memory://) after 51 failed reads over 102s",
    ]
    assert [r.levelname for r in caplog.records] == ["ERROR", "ERROR", "WARNING"]
    # A second outage starts its own count, its first error logged at once.
    caplog.clear()
    source.fail("refused again")
    await poller.refresh()
    await poller.refresh()
    source.set(True)
    clock.now += 3.0
    await poller.refresh()
    assert [r.getMessage() for r in caplog.records] == [
        "settings read failed: memory://: refused again (on_error: last-known)",
        "settings store readable again (memory://) after 2 failed reads over 3s",
    ]


def notes(poller: Poller) -> tuple[str | None, str | None]:
    """The store's note and the page's (a call, so mypy does not narrow across awaits)."""
    return poller.state.store_message, poller.state.message


async def test_the_stores_note_reaches_the_state_and_outlives_a_failed_read() -> None:
    source = MemorySource(False)
    source.message = "Back after the billing run"
    poller, _ = make(source)
    await poller.refresh()
    assert notes(poller) == (source.message, source.message)
    source.fail("down")
    await poller.refresh()
    assert poller.state.message == "Back after the billing run"  # the last good read's note
    source.set(False)
    source.message = None
    await poller.refresh()
    assert notes(poller) == (None, None)
