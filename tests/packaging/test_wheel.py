"""The production wheel is the gateway alone: the demo portal stays in the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from gateway.cli.demo import NOT_INSTALLED

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "COV_", "VIRTUAL"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip wheel --no-deps` of a copy of the checkout, demo portal included in the copy."""
    src = tmp_path_factory.mktemp("src")
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in ("gateway", "portal_demo"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(src)],
        check=True,
        env=_env(),
        timeout=300,
    )
    (built,) = out.glob("portal_gateway-*.whl")
    return built


def test_the_wheel_holds_the_gateway_and_not_the_demo(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "gateway/cli/demo.py" in names
    assert "gateway/py.typed" in names
    assert "gateway/static/unavailable.html" in names  # the page used when none is configured
    assert [n for n in names if n.split("/")[0] == "portal_demo"] == []
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "portal-gateway = gateway.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_demo_from_an_installed_wheel_says_it_is_not_installed(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", wheel],
        check=True,
        env=_env(),
        timeout=120,
    )
    # The wheel's dependencies come from the test environment, appended after the venv's own
    # site-packages (a path line in a .pth file: the .pth files found there are not run, so
    # the checkout's editable install does not come with it).
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    elsewhere = tmp_path / "elsewhere"  # not the checkout: no portal_demo beside it
    elsewhere.mkdir()
    where = subprocess.run(
        [str(python), "-c", "import gateway; print(gateway.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=elsewhere,
        env=_env(),
    )
    assert where.stdout.startswith(purelib)
    result = subprocess.run(
        [str(venv / "bin" / "portal-gateway"), "demo"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=_env(),
        timeout=60,
    )
    assert (result.returncode, result.stdout, result.stderr) == (2, "", NOT_INSTALLED + "\n")
    assert NOT_INSTALLED.endswith("the demo is not installed; run `make demo` from a checkout")
    # The same install, away from the checkout, passes `check` with the example config: no
    # `unavailable_page` key, so the page comes from the package, not the working directory.
    shutil.copy(ROOT / "config" / "gateway.yaml", elsewhere / "gateway.yaml")
    assert "\n  unavailable_page:" not in (elsewhere / "gateway.yaml").read_text()
    checked = subprocess.run(
        [str(venv / "bin" / "portal-gateway"), "check", "--config", "gateway.yaml"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=_env(),
        timeout=60,
    )
    # The example's one warning (its office route shares the customer routes' host) is fine.
    assert checked.returncode == 0, checked.stderr
    assert all(": warning: " in line for line in checked.stderr.splitlines()), checked.stderr
    assert checked.stdout.startswith("gateway.yaml: OK\n")
