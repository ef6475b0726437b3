"""`portal-gateway override`: exit codes, messages, the control file it writes, the audit line."""

from __future__ import annotations

import getpass
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from gateway.cli.main import main
from gateway.cli.override import duration_for, shown
from gateway.settings.control import load_control
from tests.conftest import config_data, config_yaml


def setup(tmp_path: Path, enabled: object = True, **settings: Any) -> tuple[str, Path]:
    """A config whose store is a JSON file in `tmp_path` (`enabled=None`: no store file)."""
    store = tmp_path / "store.json"
    if enabled is not None:
        store.write_text(json.dumps({"enabled": enabled}))
    section = {"source": f"file://{store}", "field": "enabled", "timeout": 0.5, **settings}
    config = tmp_path / "gateway.yaml"
    config.write_text(config_yaml(config_data("http://127.0.0.1:1", settings=section)))
    return str(config), tmp_path / "portal-gateway-control.json"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_disable_writes_the_override_with_the_os_user_and_audits_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, control = setup(tmp_path)
    before = time.time()
    code, out, err = run(
        capsys, "--log-level", "ERROR", "override", "disable", "--for", "30m",
        "--reason", "billing run", "--message", "Back at three", "--config", config,
    )  # fmt: skip
    assert code == 0
    override = load_control(str(control)).override
    assert override is not None
    assert (override.action, override.reason, override.message, override.by) == (
        "disable",
        "billing run",
        "Back at three",
        getpass.getuser(),
    )
    assert before <= override.at <= time.time()
    assert override.until == pytest.approx(override.at + 1800)
    assert oct(os.stat(control).st_mode & 0o777) == "0o644"
    assert f"written to {control}" in out
    # The audit line, even with the log turned down to errors.
    assert err.startswith(f"portal-gateway: audit: override disable by {getpass.getuser()} at ")
    assert err.endswith(": billing run (message: Back at three)\n")

    code, out, _ = run(capsys, "override", "show", "--config", config)
    assert code == 0
    assert out.splitlines()[0].startswith("override disable (in force) until ")
    assert "billing run" in out and "message: Back at three" in out

    code, out, err = run(capsys, "override", "clear", "--config", config)
    assert (code, load_control(str(control)).override) == (0, None)
    assert err.startswith(f"portal-gateway: audit: override disable cleared by {getpass.getuser()}")
    assert "billing run" in err
    code, out, _ = run(capsys, "override", "show", "--config", config)
    assert (code, out) == (0, f"no override in {control}\n")


def test_for_past_max_override_is_refused_naming_the_cap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, control = setup(tmp_path, max_override="2h")
    code, _, err = run(
        capsys, "override", "disable", "--for", "3h", "--reason", "x", "--config", config
    )
    assert code == 2
    assert err == (
        "portal-gateway: --for 3h is past settings.max_override (2h); ask for 2h or less\n"
    )
    assert not control.exists()
    code, _, err = run(
        capsys, "override", "disable", "--for", "soon", "--reason", "x", "--config", config
    )
    assert code == 2 and "--for: expected a duration such as 30m, 2h, 1d" in err


@pytest.mark.parametrize("missing", ["--for", "--reason"])
def test_for_and_reason_are_required(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], missing: str
) -> None:
    config, control = setup(tmp_path)
    argv = {"--for": "10m", "--reason": "outage"}
    argv.pop(missing)
    with pytest.raises(SystemExit) as info:
        main(["override", "enable", *[x for kv in argv.items() for x in kv], "--config", config])
    assert info.value.code == 2
    assert f"the following arguments are required: {missing}" in capsys.readouterr().err
    code, _, err = run(
        capsys, "override", "disable", "--for", "1m", "--reason", "  ", "--config", config
    )
    assert (code, err) == (2, "portal-gateway: override disable: --reason TEXT is required\n")
    assert not control.exists()


def test_enable_is_refused_while_the_store_says_disabled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, control = setup(tmp_path, enabled=False)
    code, _, err = run(
        capsys, "override", "enable", "--for", "10m", "--reason", "outage", "--config", config
    )
    assert code == 1
    assert "override enable refused: the settings store says the Customer Portal is disabled" in err
    assert not control.exists()


def test_enable_through_an_outage_is_written_unless_the_state_file_said_disabled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, control = setup(tmp_path, enabled=None)  # the store cannot be read
    code, _, _ = run(
        capsys, "override", "enable", "--for", "10m", "--reason", "outage", "--config", config
    )
    assert code == 0
    override = load_control(str(control)).override
    assert override is not None and override.action == "enable"

    state = tmp_path / "state.json"
    state.write_text(
        json.dumps({"enabled": False, "last_disabled_at": 1.0, "last_success_at": 2.0})
    )
    config, control = setup(tmp_path, enabled=None, state_file=str(state))
    control.unlink()
    code, _, err = run(
        capsys, "override", "enable", "--for", "10m", "--reason", "outage", "--config", config
    )
    assert code == 1 and "refused" in err and not control.exists()


def test_a_group_writable_control_file_is_refused_not_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, control = setup(tmp_path)
    control.write_text('{"version": 1, "override": null, "preview_generation": 4}')
    os.chmod(control, 0o664)
    for argv in (
        ("disable", "--for", "1m", "--reason", "x"),
        ("clear",),
        ("show",),
    ):
        code, _, err = run(capsys, "override", *argv, "--config", config)
        assert code == 1, argv
        assert "group- or world-writable (mode 664)" in err and "fix or remove it first" in err
    assert os.stat(control).st_mode & 0o777 == 0o664


def test_durations_are_shown_in_their_largest_unit() -> None:
    assert [shown(s) for s in (86400, 7200, 1800, 45, 90)] == ["1d", "2h", "30m", "45s", "90s"]
    assert duration_for("1d", 86400) == 86400
    assert duration_for("0", 86400) == "--for: must be more than 0, got '0'"


def test_status_config_prints_the_override_and_the_window_in_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, _ = setup(tmp_path)
    code, out, _ = run(capsys, "status", "--config", config)
    assert (code, out.splitlines()[2:]) == (0, [])
    run(capsys, "override", "disable", "--for", "1h", "--reason", "billing", "--config", config)
    code, out, _ = run(capsys, "status", "--config", config)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "You are currently using the Customer Portal."  # what the store says
    assert lines[2].startswith("override: disable until ")
    assert lines[2].endswith(f"by {getpass.getuser()}: billing")
