"""`portal-gateway demo` (what `make demo` runs): the demo portal with the gateway in front."""

from __future__ import annotations

import argparse
import asyncio
import errno
import os
import secrets
import signal
import sys
from pathlib import Path

from aiohttp import web

from gateway.config import ConfigError, load_config
from gateway.edge.server import make_runner

DEMO_PORT = 8081


def _session_key(data_dir: Path) -> str:
    """A demo-only key kept beside the demo data, so stamps survive a demo restart."""
    path = data_dir / "session.key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


async def _start(runner: web.BaseRunner, host: str, port: int) -> None:
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, reuse_address=True).start()
    except OSError as exc:
        await runner.cleanup()
        if exc.errno == errno.EADDRINUSE:
            raise SystemExit(
                f"portal-gateway demo: port {port} on {host} is already in use"
            ) from None
        raise


async def _demo(config_path: str, data_dir: Path) -> int:
    from gateway.app import create_app
    from portal_demo.app import create_app as create_portal

    portal = web.AppRunner(create_portal(data_dir), access_log=None, shutdown_timeout=2)
    await _start(portal, "127.0.0.1", DEMO_PORT)
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        await portal.cleanup()
        print(exc, file=sys.stderr)
        return 2
    gateway = make_runner(create_app(config), config)
    try:
        await _start(gateway, config.listen_host, config.listen_port)
    except SystemExit:
        await portal.cleanup()
        raise
    base = f"http://{config.listen_host}:{config.listen_port}"
    print(f"Customer Portal (through the gateway): {base}/", flush=True)
    print(
        f"Office Portal settings:                {base}/office/settings/customer-portal", flush=True
    )
    print("Ctrl-C stops both.", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
        print("\nstopping", flush=True)
    finally:
        await gateway.cleanup()
        await portal.cleanup()
    return 0


def run_demo(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PORTAL_GATEWAY_SESSION_KEY", _session_key(data_dir))
    try:
        return asyncio.run(_demo(args.config, data_dir))
    except KeyboardInterrupt:
        print("\nstopped", flush=True)
        return 0
