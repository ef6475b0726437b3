"""The control file: round trip, refusal of files others may write, and of broken ones."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from pathlib import Path

import pytest

from gateway.settings.control import (
    Control,
    ControlRefused,
    Override,
    default_path,
    load_control,
    save_control,
)


def test_a_missing_file_is_an_empty_control(tmp_path: Path) -> None:
    assert load_control(str(tmp_path / "none.json")) == Control()


def test_round_trip_keeps_the_override_and_the_generation(tmp_path: Path) -> None:
    path = str(tmp_path / "c.json")
    control = Control(
        override=Override("disable", 200.0, "billing", "Back at noon", "alice", 100.0),
        preview_generation=2,
    )
    save_control(path, control)
    assert load_control(path) == control
    assert os.stat(path).st_mode & 0o777 == 0o644
    assert load_control(path).revoked().preview_generation == 3


@pytest.mark.parametrize("mode", [0o664, 0o646, 0o666])
def test_a_file_others_may_write_is_refused(tmp_path: Path, mode: int) -> None:
    path = str(tmp_path / "c.json")
    save_control(path, Control(preview_generation=1))
    os.chmod(path, mode)
    with pytest.raises(ControlRefused, match="world-writable"):
        load_control(path)


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[]",
        json.dumps({"version": 2}),
        json.dumps({"version": 1, "preview_generation": -1}),
        json.dumps({"version": 1, "preview_generation": True}),
        json.dumps({"version": 1, "override": {"action": "maybe", "until": 1}}),
        json.dumps({"version": 1, "override": {"action": "disable", "until": "soon"}}),
        json.dumps({"version": 1, "override": {"action": "disable"}}),
        '{"version": 1, "override": {"action": "disable", "until": NaN}}',
    ],
)
def test_a_broken_file_is_refused_with_its_path(tmp_path: Path, content: str) -> None:
    path = tmp_path / "c.json"
    path.write_text(content)
    os.chmod(path, 0o600)
    with pytest.raises(ControlRefused, match=str(path)):
        load_control(str(path))


def test_the_default_sits_beside_the_config(tmp_path: Path) -> None:
    assert default_path(str(tmp_path / "gateway.yaml")) == str(
        tmp_path / "portal-gateway-control.json"
    )


def test_an_override_is_active_until_its_end() -> None:
    override = Override("enable", 10.0, "outage")
    assert override.active(9.9) and not override.active(10.0)


def _load_within(path: str, seconds: float) -> Control | ControlRefused | None:
    """load_control(path) on a thread; None when it has not returned within `seconds`."""
    result: list[Control | ControlRefused] = []

    def run() -> None:
        try:
            result.append(load_control(path))
        except ControlRefused as exc:
            result.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return result[0] if result else None


def test_a_fifo_in_its_place_is_refused_at_once(tmp_path: Path) -> None:
    # Whoever may create a file beside the config must not hang every gateway's reader thread
    # (and the CLI) on an open() that waits for a writer.
    path = str(tmp_path / "c.json")
    os.mkfifo(path, 0o600)
    try:
        got = _load_within(path, 3.0)
    finally:
        # Release a reader stuck in open(), so a failing run does not leave a thread behind.
        with contextlib.suppress(OSError):
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    assert isinstance(got, ControlRefused), got
    assert "not a regular file" in str(got)


def test_a_symlink_in_its_place_is_refused(tmp_path: Path) -> None:
    real = str(tmp_path / "real.json")
    save_control(real, Control(preview_generation=4))
    os.symlink(real, tmp_path / "c.json")
    with pytest.raises(ControlRefused, match=r"c\.json"):
        load_control(str(tmp_path / "c.json"))


def test_a_huge_file_is_refused_not_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(" " * (2 << 20) + json.dumps({"version": 1, "preview_generation": 9}))
    os.chmod(path, 0o600)
    with pytest.raises(ControlRefused, match="not a valid control file"):
        load_control(str(path))


@pytest.mark.parametrize("field", ["until", "at"])
@pytest.mark.parametrize("value", [1e20, -1e20, 253402300800.0])
def test_a_time_past_the_calendar_is_refused(tmp_path: Path, field: str, value: float) -> None:
    # Such a time cannot be shown (audit line, status, /_gateway/state): applying the file
    # would fail every TTL, a generation bump with it (revoked preview links kept working).
    override = {"action": "disable", "until": 2e9, "at": 1e9, "reason": "r", field: value}
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"version": 1, "override": override, "preview_generation": 3}))
    os.chmod(path, 0o600)
    with pytest.raises(ControlRefused, match=f"override.{field}"):
        load_control(str(path))
