"""The state file: atomic writes, and loads that tolerate anything on disk."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import pytest

from gateway.settings import statefile
from gateway.settings.statefile import SavedState, StateWriter, load_state, save_state


def test_round_trip_without_a_temporary_left_behind(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "portal.json"
    for state in (SavedState(True, None, 10.0), SavedState(False, 5.5, 11.0)):
        save_state(str(path), state)
        assert load_state(str(path)) == state
    assert json.loads(path.read_text()) == {
        "enabled": False,
        "last_disabled_at": 5.5,
        "last_success_at": 11.0,
    }
    assert [p.name for p in path.parent.iterdir()] == ["portal.json"]


def test_a_missing_file_is_a_quiet_none(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert load_state(str(tmp_path / "nothing.json")) is None
    assert caplog.records == []


@pytest.mark.parametrize(
    "body",
    [
        "",
        "{not json",
        "[]",
        "null",
        '{"enabled": true}',
        '{"enabled": "yes", "last_success_at": 1}',
        '{"enabled": true, "last_success_at": "soon"}',
        '{"enabled": true, "last_success_at": 1, "last_disabled_at": "x"}',
        '{"enabled": true, "last_success_at": 1, "last_disabled_at": NaN}',
        '{"enabled": true, "last_success_at": 1, "last_disabled_at": Infinity}',
        '{"enabled": true, "last_success_at": NaN}',
    ],
)
def test_a_corrupt_file_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, body: str
) -> None:
    path = tmp_path / "portal.json"
    path.write_text(body)
    assert load_state(str(path)) is None
    assert f"ignoring unreadable state file {path}" in caplog.text


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    good = tmp_path / "portal.json"
    save_state(str(good), SavedState(False, 1.0, 2.0))
    blocked = tmp_path / "blocked"
    (blocked / "inside").mkdir(parents=True)  # os.replace cannot put a file over a directory
    with pytest.raises(OSError):
        save_state(str(blocked), SavedState(True, None, 3.0))
    assert load_state(str(good)) == SavedState(False, 1.0, 2.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocked", "portal.json"]


async def test_writes_run_off_the_loop_one_at_a_time_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "portal.json"
    loop_thread = threading.get_ident()
    running: list[int] = []
    seen: list[tuple[bool, float, int]] = []  # (enabled, last_success_at, writers at once)

    def slow_save(target: str, state: SavedState) -> None:
        running.append(1)
        seen.append((state.enabled, state.last_success_at, len(running)))
        assert threading.get_ident() != loop_thread  # fsync never stalls the event loop
        time.sleep(0.01)  # long enough for a second thread to start, were it allowed to
        save_state(target, state)
        running.pop()

    monkeypatch.setattr(statefile, "save_state", slow_save)
    writer = StateWriter(str(path))
    for i in range(5):
        writer.submit(SavedState(i % 2 == 0, float(i), float(i)))
    await writer.flush()
    assert seen == [(i % 2 == 0, float(i), 1) for i in range(5)]
    assert load_state(str(path)) == SavedState(True, 4.0, 4.0)  # the newest is the last written


async def test_a_failed_write_is_logged_never_raised_and_the_next_one_lands(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "blocked"
    (blocked / "inside").mkdir(parents=True)
    writer = StateWriter(str(blocked))
    writer.submit(SavedState(True, None, 1.0))
    await writer.flush()
    assert [r.getMessage() for r in caplog.records] == [
        f"cannot write state file {blocked}: [Errno 21] Is a directory: "
        f"{_temporary(caplog.records[0].getMessage())!r} -> {str(blocked)!r}"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocked"]  # no temporary left
    (blocked / "inside").rmdir()
    blocked.rmdir()
    writer.submit(SavedState(False, 2.0, 3.0))
    await writer.flush()
    assert load_state(str(blocked)) == SavedState(False, 2.0, 3.0)


def _temporary(message: str) -> str:
    """The temporary file's name in an os.replace error (random, so read back from it)."""
    return message.split(": '", 1)[1].split("' -> ", 1)[0]


async def test_a_cancelled_waiter_does_not_cut_a_write_short(tmp_path: Path) -> None:
    path = tmp_path / "portal.json"
    writer = StateWriter(str(path))
    writer.submit(SavedState(False, 5.0, 6.0))
    waiter = asyncio.create_task(writer.flush())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await writer.flush()
    assert load_state(str(path)) == SavedState(False, 5.0, 6.0)
