"""`portal-gateway demo` (gateway.cli.demo): the demo portal as a child process, the gateway in front."""

from __future__ import annotations

import asyncio
import socket
import stat
import sys
from pathlib import Path

import pytest

from gateway.cli import demo
from tests.processes import gateway_cli


def test_the_demo_session_key_is_made_once_private_and_kept(tmp_path: Path) -> None:
    key = demo._session_key(tmp_path)
    path = tmp_path / "session.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) >= 32
    assert demo._session_key(tmp_path) == key  # stamps survive a demo restart


async def child(code: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE
    )


async def test_the_portal_is_up_once_it_says_so_and_stopped_by_sigterm() -> None:
    portal = await child("import time; print('Demo portal: http://x', flush=True); time.sleep(60)")
    assert await demo._portal_up(portal) is True
    await demo._stop(portal)
    assert portal.returncode is not None and portal.returncode < 0  # ended by a signal


async def test_a_portal_that_exits_before_it_listens_is_not_up() -> None:
    portal = await child("import sys; print('address already in use'); sys.exit(1)")
    assert await demo._portal_up(portal) is False
    await portal.wait()
    await demo._stop(portal)  # already gone: nothing to signal
    assert portal.returncode == 1


@pytest.mark.slow
async def test_a_portal_that_ignores_sigterm_is_killed() -> None:
    portal = await child(
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('Demo portal: x', flush=True); time.sleep(60)"
    )
    assert await demo._portal_up(portal) is True
    started = asyncio.get_running_loop().time()
    await demo._stop(portal)
    assert portal.returncode == -9
    assert asyncio.get_running_loop().time() - started >= 5  # SIGTERM was given its 5 s first


@pytest.mark.slow
def test_demo_names_a_busy_port_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            busy.bind(("127.0.0.1", 8081))
            busy.listen()
        except OSError:
            pass  # something already holds 8081: the demo must say so all the same
        result = gateway_cli("demo", "--data-dir", str(tmp_path / "data"))
    assert result.returncode != 0
    assert (
        result.stderr.strip().splitlines()[-1]
        == "portal-gateway demo: port 8081 on 127.0.0.1 is already in use"
    )
    assert "Traceback" not in result.stderr
