"""Real nginx and Caddy in front of an in-process gateway, run from the example files.

A deployment takes config/nginx-forward-auth.conf or config/Caddyfile.forward-auth and replaces
the three documented addresses; so do these helpers, with free loopback ports, and nothing else.
The gateway side is config/forward-auth.yaml with the same three addresses replaced (and the
proxy named). nginx gets the main-context lines every nginx.conf has (pid, logs, temp paths);
Caddy a global options block with the admin API off, so tests run side by side.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml
from aiohttp import web

from gateway.app import create_app
from gateway.config import Config, config_from_text
from gateway.edge.keys import ADMIN_APP
from gateway.edge.server import make_runner
from gateway.settings import make_source
from gateway.settings.poller import Poller
from tests.conftest import ROOT
from tests.processes import free_port
from tests.services import require_binary

CLIENT, GATEWAY, PORTAL = "127.0.0.1:8000", "127.0.0.1:8082", "127.0.0.1:8081"
SETTINGS_PATH = "/api/settings/customer-portal"


def example(name: str, ports: dict[str, int]) -> str:
    """An example file with its documented addresses replaced by ports, as a deployment would."""
    text = (ROOT / "config" / name).read_text(encoding="utf-8")
    for address, port in ports.items():
        assert address in text, f"config/{name} no longer names {address}"
        text = text.replace(address, f"127.0.0.1:{port}")
    return text


@dataclass
class ForwardAuthGateway:
    """The gateway from config/forward-auth.yaml: public and admin listener, real HTTP store."""

    config: Config
    poller: Poller
    admin_port: int

    async def refresh(self) -> None:
        """Read the store now (what the poller does every ttl)."""
        await self.poller.refresh()


@asynccontextmanager
async def forward_auth_gateway(
    proxy: str, portal: int, sections: dict[str, dict[str, object]] | None = None
) -> AsyncIterator[ForwardAuthGateway]:
    """`sections` adds keys to the example's sections (`{"settings": {"message_field": ...}}`)."""
    public, admin = free_port(), free_port()
    text = example("forward-auth.yaml", {"127.0.0.1:8080": public, GATEWAY: admin, PORTAL: portal})
    data = yaml.safe_load(text)
    data["forward_auth"]["proxy"] = proxy  # the example is written for nginx
    for section, keys in (sections or {}).items():
        data[section].update(keys)
    text = yaml.safe_dump(data, sort_keys=False)
    config = config_from_text(text, str(ROOT / "config" / "forward-auth.yaml"))
    poller = Poller(make_source(config.settings), config.settings, jitter=lambda ttl: 0.0)
    app = create_app(config, poller=poller)
    # As `portal-gateway run` does: the admin listener is its own application.
    runners = [make_runner(app, config), make_runner(app[ADMIN_APP], config)]
    try:
        for runner, port in zip(runners, (public, admin), strict=True):
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
        await poller.refresh()
        yield ForwardAuthGateway(config, poller, admin)
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


async def _listening(port: int, proc: asyncio.subprocess.Process, log: Path) -> None:
    for _ in range(200):
        if proc.returncode is not None:
            raise AssertionError(f"exited {proc.returncode}:\n{log.read_text()}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise AssertionError(f"not listening on {port}:\n{log.read_text()}")


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


NGINX_MAIN = """daemon off;
master_process on;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/nginx-forward-auth.conf;
}}
"""


@asynccontextmanager
async def nginx_in_front(tmp: Path, gateway: int, portal: int) -> AsyncIterator[int]:
    """nginx from config/nginx-forward-auth.conf; yields the port clients use."""
    nginx = require_binary(shutil.which("nginx") or "/usr/sbin/nginx", "nginx-light")
    port = free_port()
    (tmp / "nginx-forward-auth.conf").write_text(
        example("nginx-forward-auth.conf", {CLIENT: port, GATEWAY: gateway, PORTAL: portal})
    )
    (tmp / "nginx.conf").write_text(NGINX_MAIN.format(tmp=tmp))
    proc = await asyncio.create_subprocess_exec(
        nginx, "-c", str(tmp / "nginx.conf"), "-p", str(tmp), "-e", str(tmp / "error.log")
    )
    try:
        await _listening(port, proc, tmp / "error.log")
        yield port
    finally:
        await _stop(proc)


@asynccontextmanager
async def caddy_in_front(tmp: Path, gateway: int, portal: int) -> AsyncIterator[int]:
    """Caddy from config/Caddyfile.forward-auth; yields the port clients use."""
    caddy = require_binary(shutil.which("caddy") or "/usr/bin/caddy", "caddy")
    port = free_port()
    site = example("Caddyfile.forward-auth", {CLIENT: port, GATEWAY: gateway, PORTAL: portal})
    (tmp / "Caddyfile").write_text("{\n\tadmin off\n}\n\n" + site)
    log = tmp / "caddy.log"
    # Caddy keeps state under $HOME / XDG dirs: the test's own, not the machine's.
    env = {**os.environ, "HOME": str(tmp), "XDG_DATA_HOME": str(tmp), "XDG_CONFIG_HOME": str(tmp)}
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            caddy, "run", "--adapter", "caddyfile", "--config", str(tmp / "Caddyfile"),
            stdout=out, stderr=out, env=env,
        )  # fmt: skip
    try:
        await _listening(port, proc, log)
        yield port
    finally:
        await _stop(proc)
