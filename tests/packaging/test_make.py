"""The Makefile's venv step: a .venv left behind by an interrupted first run is rebuilt."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def make(checkout: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", f"PYTHON={sys.executable}", *args],
        cwd=checkout,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of what the Makefile reads, with the .venv a Ctrl-C during ensurepip leaves."""
    if shutil.which("make") is None:
        pytest.skip("needs make")
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(tmp_path / ".venv")], check=True
    )
    return tmp_path


def stamps(checkout: Path) -> tuple[str, str]:
    cksum = subprocess.run(
        ["cksum", "pyproject.toml"], cwd=checkout, capture_output=True, text=True, check=True
    ).stdout.split()[0]
    return f".venv/.installed-{cksum}", f".venv/.installed-demo-{cksum}"


def test_venv_without_pip_is_created_again(checkout: Path) -> None:
    python = checkout / ".venv" / "bin" / "python"
    assert subprocess.run([python, "-c", "import pip"], capture_output=True).returncode == 1
    (checkout / ".venv" / "left-over").touch()
    result = make(checkout, "venv")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ".venv is incomplete (no pip): creating it again\n"
    assert subprocess.run([python, "-c", "import pip"], capture_output=True).returncode == 0
    assert not (checkout / ".venv" / "left-over").exists()
    # A healthy venv is left as it is.
    (checkout / ".venv" / "kept").touch()
    again = make(checkout, "venv")
    assert (again.returncode, again.stdout) == (0, "")
    assert (checkout / ".venv" / "kept").exists()


def test_no_venv_at_all_is_created_quietly(checkout: Path) -> None:
    shutil.rmtree(checkout / ".venv")
    result = make(checkout, "venv")
    assert (result.returncode, result.stdout) == (0, "")
    assert (checkout / ".venv" / "bin" / "python").exists()


def test_stamps_in_a_venv_without_pip_do_not_count(checkout: Path) -> None:
    test_stamp, demo_stamp = stamps(checkout)
    for stamp in (test_stamp, demo_stamp):
        (checkout / stamp).touch()
    # Interrupted while pip replaced itself: the stamps say installed, the venv cannot install.
    plan = make(checkout, "-n", "demo").stdout
    assert "-m venv .venv" in plan
    assert f"touch {demo_stamp}" in plan
    assert make(checkout, "-n", test_stamp).stdout.count("pip install") == 2
    # Once the venv is healthy, the same stamps mean what they say: nothing to install.
    assert make(checkout, "venv").returncode == 0
    for stamp in (test_stamp, demo_stamp):
        (checkout / stamp).touch()
    plan = make(checkout, "-n", "demo").stdout
    assert "pip install" not in plan
    assert plan.splitlines()[-1] == ".venv/bin/python -m gateway demo"


def test_demo_installs_without_the_test_extras(checkout: Path) -> None:
    make(checkout, "venv")
    _, demo_stamp = stamps(checkout)
    plan = make(checkout, "-n", demo_stamp).stdout
    assert "pip install --quiet -e .;" in plan
    assert "[test]" not in plan
