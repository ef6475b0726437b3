"""The poller across restarts: the state file restores last-known and the last disable."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from gateway.config import SettingsConfig
from gateway.settings import statefile
from gateway.settings.poller import Poller
from gateway.settings.statefile import SavedState, save_state
from gateway.testing import MemorySource
from tests.settings.test_poller import Clock, make


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


async def test_a_restored_value_ages_from_the_original_read(tmp_path: Path) -> None:
    state = tmp_path / "portal.json"
    state.write_text(
        json.dumps({"enabled": True, "last_disabled_at": None, "last_success_at": 1950.0})
    )
    dead = MemorySource(True)
    dead.fail("unreachable")
    wall = Clock(2000.0)
    clock = Clock(5.0)  # the monotonic clock has nothing to do with the wall clock
    poller = Poller(
        dead,
        SettingsConfig(source="memory://", state_file=str(state), max_stale=60.0),
        clock=clock,
        wall=wall,
        jitter=lambda ttl: 0.0,
    )
    await poller.start()
    try:
        assert poller.state.enabled  # 50 s old: still served
        clock.now += 9
        await poller.refresh()
        assert poller.state.enabled  # 59 s
        clock.now += 2
        await poller.refresh()
        assert poller.state.enabled is False  # 61 s: fail closed
    finally:
        await poller.stop()


@pytest.mark.parametrize(
    ("saved", "max_stale"),
    [
        ({"enabled": True, "last_disabled_at": 100.0, "last_success_at": 1000.0}, 60.0),
        ({"enabled": False, "last_disabled_at": None, "last_success_at": 1990.0}, None),
    ],
)
async def test_a_disable_after_a_restart_is_recorded_whatever_the_state_file_says(
    tmp_path: Path, saved: dict[str, Any], max_stale: float | None
) -> None:
    # A stale "enabled" file (not served, but still what this process last knew), or a
    # "disabled" file that lost its moment: the first disabled read records the disable now.
    state = tmp_path / "portal.json"
    state.write_text(json.dumps(saved))
    poller, _ = make(MemorySource(False), Clock(2000.0), state_file=str(state), max_stale=max_stale)
    await poller.start()
    try:
        await poller.refresh()
        assert poller.state.last_disabled_at == 2000.0
        assert json.loads(state.read_text())["last_disabled_at"] == 2000.0
    finally:
        await poller.stop()


async def test_a_state_file_that_cannot_be_written_never_stops_the_poller(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("")
    state = in_the_way / "portal.json"  # its directory is a file: every write fails
    source = MemorySource(True)
    poller, _ = make(source, state_file=str(state))
    await poller.start()
    try:
        await poller.refresh()
        source.set(False)
        await poller.refresh()
        assert (poller.state.enabled, poller.state.last_error) == (False, None)
        assert poller.state.last_disabled_at == 1000.0
    finally:
        await poller.stop()
    failures = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert failures == [
        f"cannot write state file {state}: [Errno 17] File exists: '{in_the_way}'"
    ] * len(failures)
    assert len(failures) == 2  # the first read, then the disable


async def test_stop_lets_a_state_file_write_finish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def slow_save(target: str, saved: SavedState) -> None:
        time.sleep(0.1)  # stop() comes while this write is still on its thread
        save_state(target, saved)

    monkeypatch.setattr(statefile, "save_state", slow_save)
    state = tmp_path / "portal.json"
    poller, _ = make(MemorySource(False), state_file=str(state))
    await poller.start()
    while not poller.state.ready:  # the first read has answered and queued its write
        await asyncio.sleep(0)
    assert not state.exists()
    await poller.stop()
    assert json.loads(state.read_text()) == {
        "enabled": False,
        "last_disabled_at": 1000.0,
        "last_success_at": 1000.0,
    }
