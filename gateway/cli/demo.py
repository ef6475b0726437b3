"""`portal-gateway demo` (what `make demo` runs): the demo portal with the gateway in front.

The demo portal (`portal_demo`, in a checkout only, never in the production wheel) runs as its
own process, `python -m portal_demo`: the gateway does not import it.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import errno
import importlib.util
import os
import secrets
import signal
import sys
from pathlib import Path

from aiohttp import web

from gateway.app import create_app
from gateway.config import ConfigError, load_config
from gateway.edge.server import make_runner
from gateway.settings import SOURCES

DEMO_HOST, DEMO_PORT = "127.0.0.1", 8081
NOT_INSTALLED = "portal-gateway demo: the demo is not installed; run `make demo` from a checkout"


def _session_key(data_dir: Path) -> str:
    """A demo-only key kept beside the demo data, so stamps survive a demo restart."""
    path = data_dir / "session.key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _busy(host: str, port: int) -> str:
    return f"portal-gateway demo: port {port} on {host} is already in use"


async def _portal_up(portal: asyncio.subprocess.Process) -> bool:
    """True once the demo portal says it listens; False when it exits first."""
    assert portal.stdout is not None
    try:
        # A first start creates and seeds the SQLite store before it listens.
        line = await asyncio.wait_for(portal.stdout.readline(), 30)
    except TimeoutError:
        return False
    return line.startswith(b"Demo portal:")


async def _stop(portal: asyncio.subprocess.Process) -> None:
    if portal.returncode is None:
        portal.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(portal.wait(), 5)
        except TimeoutError:
            portal.kill()
            await portal.wait()


async def _demo(config_path: str, data_dir: Path, log_format: str | None = None) -> int:
    try:
        config = load_config(config_path, SOURCES)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if log_format == "json":
        config = dataclasses.replace(config, log_format="json")
    elif log_format == "text":
        config = dataclasses.replace(config, log_format="text")
    portal = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "portal_demo",
        "--host",
        DEMO_HOST,
        "--port",
        str(DEMO_PORT),
        "--data-dir",
        str(data_dir),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    gateway: web.AppRunner | None = None
    try:
        if not await _portal_up(portal):
            await _stop(portal)
            assert portal.stderr is not None
            why = (await portal.stderr.read()).decode(errors="replace").strip()
            print(_busy(DEMO_HOST, DEMO_PORT) if "already in use" in why else why, file=sys.stderr)
            return 1
        gateway = make_runner(create_app(config), config)
        await gateway.setup()
        try:
            # An empty host (a bare port) is every interface: None to aiohttp.
            host = config.listen_host or None
            await web.TCPSite(gateway, host, config.listen_port).start()
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                print(_busy(config.listen_host, config.listen_port), file=sys.stderr)
                return 1
            raise
        base = f"http://{config.listen_host or '127.0.0.1'}:{config.listen_port}"
        print(f"Customer Portal (through the gateway): {base}/", flush=True)
        print(
            f"Office Portal settings:                {base}/office/settings/customer-portal",
            flush=True,
        )
        print("Ctrl-C stops both.", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        print("\nstopping", flush=True)
        return 0
    finally:
        if gateway is not None:
            await gateway.cleanup()
        await _stop(portal)


def run_demo(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("portal_demo") is None:
        print(NOT_INSTALLED, file=sys.stderr)
        return 2
    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PORTAL_GATEWAY_SESSION_KEY", _session_key(data_dir))
    try:
        return asyncio.run(_demo(args.config, data_dir, args.log_format))
    except KeyboardInterrupt:
        print("\nstopped", flush=True)
        return 0
