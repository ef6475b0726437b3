"""`portal-gateway run`: serve until SIGTERM/SIGINT, re-read the config on SIGHUP."""

from __future__ import annotations

import asyncio
import logging
import signal

from gateway.app import create_app
from gateway.config import Config, ConfigError, load_config
from gateway.edge.server import GatewayServer
from gateway.settings import SOURCES

log = logging.getLogger("gateway")


async def serve(config: Config, *, config_path: str) -> int:
    for warning in config.warnings:
        log.warning("%s", warning)
    server = GatewayServer(create_app(config), config)
    await server.start()
    bound = ", ".join(f"http://{address}" for address in server.addresses())
    log.info("portal-gateway listening on %s (config %s)", bound, config_path)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def reload() -> None:
        try:
            new = load_config(config_path, SOURCES)
        except ConfigError as exc:
            log.error("SIGHUP: %s is invalid; keeping the running config:\n%s", config_path, exc)
            return
        later = server.reload(new)
        log.warning("SIGHUP: %s applied", config_path)
        for warning in new.warnings:
            log.warning("%s", warning)
        if later:
            log.warning("SIGHUP: these changes need a restart to apply: %s", ", ".join(later))

    loop.add_signal_handler(signal.SIGHUP, reload)
    await stop.wait()
    await server.drain()
    await server.stop()
    return 0
