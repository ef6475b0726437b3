"""`portal-gateway run`: serve the app until SIGTERM/SIGINT, re-check the config on SIGHUP."""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
from typing import Any

from aiohttp import web

from gateway.app import GATEWAY, create_app
from gateway.config import Config, ConfigError, load_config
from gateway.edge.keys import ADMIN_APP, DRAINING, SOCKETS
from gateway.edge.protocol import GatewayRunner

log = logging.getLogger("gateway")


class AddressInUse(Exception):
    """A listener's address is taken; the CLI turns this into one line naming it."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(f"{host}:{port} is already in use")
        self.host, self.port = host, port


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
    for warning in config.warnings:
        log.warning("%s", warning)
    app = create_app(config)
    runner = make_runner(app, config)
    await runner.setup()
    runners: list[web.BaseRunner] = [runner]
    listen = (config.listen_host, config.listen_port)
    sites = [(listen, web.TCPSite(runner, *listen, reuse_address=True))]
    if config.admin_listen is not None:
        # The admin listener is its own application: it serves the reserved endpoints and
        # proxies nothing, whatever port or address a request names.
        admin_runner = make_runner(app[ADMIN_APP], config)
        await admin_runner.setup()
        runners.append(admin_runner)
        admin_site = web.TCPSite(admin_runner, *config.admin_listen, reuse_address=True)
        sites.append((config.admin_listen, admin_site))
    for (host, port), site in sites:
        try:
            await site.start()
        except OSError as exc:
            for each in reversed(runners):
                await each.cleanup()
            if exc.errno == errno.EADDRINUSE:
                raise AddressInUse(host, port) from None
            raise
    if config.admin_listen is not None:
        log.info("reserved endpoints on http://%s:%s%s/", *config.admin_listen, config.admin_prefix)
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
    for each in reversed(runners):
        await each.cleanup()
    return 0
