"""`portal-gateway` as a real child process, for signal and command-line tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from tests.conftest import ROOT, config_text

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports (each held until all are picked, so none repeats)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]


def gateway_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=ROOT,
        timeout=60,
    )


@dataclass
class GatewayProcess:
    """A child `portal-gateway run` on free ports: `port` public, `admin_port` admin."""

    proc: asyncio.subprocess.Process
    port: int
    config: Path
    admin_port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def admin_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.admin_port}{path}"

    def write_config(self, upstream_url: str, **kwargs: Any) -> None:
        """The test config on this process's ports; `extra` may set its own `admin_listen`."""
        extra = kwargs.pop("extra", "")
        extra = yaml.safe_load(extra) if isinstance(extra, str) and extra else extra or {}
        # Never the default 127.0.0.1:8082: tests run side by side.
        admin = {"admin_listen": f"127.0.0.1:{self.admin_port}"}
        listen = {"listen": f"127.0.0.1:{self.port}"}
        self.config.write_text(config_text(upstream_url, {**admin, **extra, **listen}, **kwargs))

    async def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), 30)

    async def until(self, session: aiohttp.ClientSession, path: str, status: int) -> None:
        """Poll `path` until it answers `status` (the first store read may still be under way)."""
        for _ in range(100):
            async with session.get(self.url(path)) as resp:
                if resp.status == status:
                    return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{path} never answered {status}")

    async def log(self) -> str:
        assert self.proc.stderr is not None
        return (await self.proc.stderr.read()).decode()


@asynccontextmanager
async def gateway_process(
    upstream_url: str, tmp_path: Path, **kwargs: Any
) -> AsyncIterator[GatewayProcess]:
    """Start `python -m gateway run` on a free port and wait until it serves /_gateway/healthz."""
    port, admin_port = free_ports(2)
    gateway = GatewayProcess(
        proc=None,  # type: ignore[arg-type]
        port=port,
        config=tmp_path / "run.yaml",
        admin_port=admin_port,
    )
    gateway.write_config(upstream_url, **kwargs)
    gateway.proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "run", "--config", str(gateway.config),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV, cwd=ROOT,
    )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                try:
                    async with session.get(gateway.url("/_gateway/healthz")) as resp:
                        # healthz answers on the public listener whatever admin_listen says.
                        if resp.status == 200:
                            break
                except aiohttp.ClientConnectorError:
                    await asyncio.sleep(0.05)
            else:
                raise AssertionError("portal-gateway run did not start serving")
        yield gateway
    finally:
        if gateway.proc.returncode is None:
            gateway.proc.kill()
            await gateway.proc.wait()
