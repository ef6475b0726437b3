"""deploy/portal-gateway.service: systemd accepts it, and it says what production needs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

UNIT = ROOT / "deploy" / "portal-gateway.service"
INSTALLED = "/usr/local/bin/portal-gateway"


def settings(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found:
        return found
    message = "systemd-analyze not found; install Debian's systemd (make test does it as root)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def venv_binary() -> str:
    binary = Path(sys.executable).parent / "portal-gateway"
    assert binary.is_file(), f"{binary}: install the checkout (pip install -e .)"
    return str(binary)


def verify(text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    unit = tmp_path / "portal-gateway.service"
    unit.write_text(text)
    return subprocess.run(
        [systemd_analyze(), "verify", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )


def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    # verify checks that every Exec binary exists: the venv's stands in for the installed one.
    done = verify(UNIT.read_text().replace(INSTALLED, venv_binary()), tmp_path)
    assert done.returncode == 0, done.stderr
    assert "portal-gateway.service" not in done.stderr, done.stderr


def test_verify_fails_on_a_unit_that_cannot_start(tmp_path: Path) -> None:
    # The check above can fail: the unit as shipped names a binary this machine may lack.
    broken = UNIT.read_text().replace(INSTALLED, str(tmp_path / "missing" / "portal-gateway"))
    done = verify(broken, tmp_path)
    assert done.returncode != 0
    assert "is not executable" in done.stderr


def test_the_unit_runs_reloads_and_keeps_its_state() -> None:
    s = settings(UNIT.read_text())
    assert s["ExecStart"] == [f"{INSTALLED} run --config /etc/portal-gateway/gateway.yaml"]
    assert s["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert s["StateDirectory"] == ["portal-gateway"]
    assert s["KillSignal"] == ["SIGTERM"]
    # drain_timeout's default (30 s) plus margin, so systemd's SIGKILL does not cut a drain.
    assert int(s["TimeoutStopSec"][0]) >= 35


def test_the_unit_is_sandboxed() -> None:
    s = settings(UNIT.read_text())
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "DynamicUser": "yes",
    }.items():
        assert s[key] == [value], key
    # The gateway raises its open-files soft limit with setrlimit: a filter must not kill it.
    assert not any("@resources" in f and f.startswith("~") for f in s["SystemCallFilter"])
