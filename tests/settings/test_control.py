"""The control file: round trip, refusal of files others may write, and of broken ones."""

from __future__ import annotations

import json
import os
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
