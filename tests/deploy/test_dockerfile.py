"""deploy/Dockerfile: the instructions a production image depends on (no image is built here)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

DOCKERFILE = ROOT / "deploy" / "Dockerfile"


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in path.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        word, _, rest = whole.partition(" ")
        out.append((word.upper(), rest.strip()))
    assert not pending, "a continuation line ends the file"
    return out


def only(name: str) -> str:
    found = [args for word, args in instructions(DOCKERFILE) if word == name]
    assert len(found) == 1, f"{name}: {found}"
    return found[0]


def test_the_base_is_a_slim_python() -> None:
    assert re.fullmatch(r"python:3\.1[1-9]-slim(-\w+)?", only("FROM"))


def test_it_runs_as_a_user_that_is_not_root() -> None:
    steps = instructions(DOCKERFILE)
    users = [i for i, (word, _) in enumerate(steps) if word == "USER"]
    assert users, "no USER"
    user = steps[users[-1]][1]
    assert user.split(":")[0] not in ("root", "0")
    # Nothing after the last USER runs as root again, and the user is created before it.
    assert "useradd" in " ".join(args for word, args in steps[: users[-1]] if word == "RUN")
    assert user.split(":")[0] in " ".join(args for word, args in steps if word == "RUN")


def test_the_healthcheck_asks_readyz_with_python_itself() -> None:
    options, _, command = only("HEALTHCHECK").partition("CMD ")
    argv = json.loads(command)
    assert argv[:2] == ["python", "-c"]
    assert "http://127.0.0.1:8082/_gateway/readyz" in argv[2]
    assert "--timeout=" in options
    # The command itself: against nothing listening it fails, as a health check must.
    done = subprocess.run(
        ["python3", "-c", argv[2].replace("127.0.0.1:8082", "127.0.0.1:9")],
        capture_output=True,
        timeout=30,
    )
    assert done.returncode != 0


def test_it_stops_with_sigterm_and_runs_the_gateway() -> None:
    assert only("STOPSIGNAL") == "SIGTERM"
    assert json.loads(only("ENTRYPOINT")) == ["portal-gateway"]
    assert json.loads(only("CMD")) == ["run", "--config", "/etc/portal-gateway/gateway.yaml"]
    assert "8080" in only("EXPOSE").split() and "8082" in only("EXPOSE").split()


def test_hadolint_when_installed() -> None:
    # Debian has no hadolint package: this runs where a developer installed it.
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint not installed (Debian does not package it)")
    done = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_what_the_image_copies_is_enough_to_build_the_gateway(tmp_path: Path) -> None:
    # The build context as the image sees it: only the paths its COPY instructions name.
    context = tmp_path / "context"
    context.mkdir()
    for word, args in instructions(DOCKERFILE):
        if word != "COPY":
            continue
        *sources, _ = args.split()
        for source in sources:
            path = ROOT / source
            assert path.exists(), source
            if path.is_dir():
                shutil.copytree(
                    path, context / source, ignore=shutil.ignore_patterns("__pycache__")
                )
            else:
                shutil.copy(path, context / source)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "COV_", "VIRTUAL"))}
    out = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(out),
            str(context),
        ],
        check=True,
        env={**env, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        timeout=300,
    )
    (wheel,) = out.glob("portal_gateway-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "gateway/static/unavailable.html" in names
    assert "gateway/cli/main.py" in names
