"""The state file: atomic writes, and loads that tolerate anything on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.settings.statefile import SavedState, load_state, save_state


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
