"""`portal-gateway run`: serve the app until SIGTERM/SIGINT, re-check the config on SIGHUP."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from aiohttp import web

from gateway.app import GATEWAY, create_app
from gateway.config import Config, ConfigError, load_config
from gateway.keys import DRAINING, SOCKETS
from gateway.protocol import GatewayRunner

log = logging.getLogger("gateway")


def server_options(config: Config) -> dict[str, Any]:
    """aiohttp server settings a proxy needs; shared by `run` and the tests."""
    return {
        # A client that disconnects cancels its handler, and with it the upstream request.
        "handler_cancellation": True,
        # Request bodies pass byte for byte: aiohttp would otherwise gunzip them.
        "auto_decompress": False,
        "access_log": None,  # the gateway writes its own access line (gateway.access)
        "keepalive_timeout": 75.0,
    }


def make_runner(app: web.Application, config: Config) -> web.AppRunner:
    return GatewayRunner(
        app,
        header_timeout=config.proxy.header_timeout,
        shutdown_timeout=config.proxy.drain_timeout,
        **server_options(config),
    )


async def serve(config: Config, *, config_path: str) -> int:
    app = create_app(config)
    runner = make_runner(app, config)
    await runner.setup()
    site = web.TCPSite(runner, config.listen_host, config.listen_port, reuse_address=True)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    log.info(
        "portal-gateway listening on http://%s:%s (config %s)",
        config.listen_host,
        config.listen_port,
        config_path,
    )
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def reload() -> None:
        try:
            new = load_config(config_path)
        except ConfigError as exc:
            log.error("SIGHUP: %s is invalid; keeping the running config:\n%s", config_path, exc)
            return
        later = app[GATEWAY].apply(new)
        log.warning("SIGHUP: %s applied", config_path)
        if later:
            log.warning("SIGHUP: these changes need a restart to apply: %s", ", ".join(later))

    loop.add_signal_handler(signal.SIGHUP, reload)
    await stop.wait()
    proxy = config.proxy
    # Readiness turns 503 first, so a load balancer stops sending; the listener keeps accepting
    # for drain_delay while it notices. Then: no new connections, idle keep-alive connections
    # closed, WebSockets told 1001, in-flight requests given drain_timeout to finish.
    app[DRAINING].active = True
    log.info("draining: readiness 503; still accepting for %ss", proxy.drain_delay)
    await asyncio.sleep(proxy.drain_delay)
    # Before aiohttp's own shutdown closes connections: open WebSockets get 1001, not a drop.
    await app[SOCKETS].close_all()
    log.info(
        "stopping: no new connections; in-flight requests have %ss to finish", proxy.drain_timeout
    )
    await runner.cleanup()
    return 0
