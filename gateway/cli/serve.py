"""`portal-gateway run`: serve until SIGTERM/SIGINT, re-read the config on SIGHUP."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from typing import Protocol

from gateway.app import create_app
from gateway.config import Config, ConfigError, load_config
from gateway.edge.keys import CONNECTIONS
from gateway.edge.limits import describe, overcommitted, raise_open_files_limit
from gateway.edge.server import GatewayServer
from gateway.settings import SOURCES

log = logging.getLogger("gateway")


class Supervised(Protocol):
    """A worker's link to its supervisor (gateway.cli.workers.WorkerLink)."""

    def serving(self) -> None:
        """Tell the supervisor the listeners are bound and SIGHUP is handled."""

    def on_parent_gone(self, callback: Callable[[], None]) -> None:
        """Call `callback` (on this loop) once the supervisor has gone."""


async def serve(config: Config, *, config_path: str, worker: Supervised | None = None) -> int:
    """Serve `config` until SIGTERM/SIGINT, then drain.

    With `worker` this process is one of `run --workers N` (gateway/cli/workers.py): it binds
    with SO_REUSEPORT after the first store read, reports once it serves, and drains when the
    supervisor is gone, so that no orphaned worker keeps the port.
    """
    for warning in config.warnings:
        log.warning("%s", warning)
    # Before the app is built: the client bound's default comes from the raised limit.
    files = raise_open_files_limit()
    app = create_app(config)
    connections = app[CONNECTIONS]
    log.info("%s", describe(files, connections))
    if (overcommit := overcommitted(connections, config.proxy)) is not None:
        log.warning("%s", overcommit)
    loop = asyncio.get_running_loop()
    # Failed accepts (out of descriptors) are counted and summarised, not one traceback each.
    loop.set_exception_handler(connections.on_loop_error)
    server = GatewayServer(app, config)
    await server.start(worker=worker is not None)
    bound = ", ".join(f"http://{address}" for address in server.addresses())
    log.info("portal-gateway listening on %s (config %s)", bound, config_path)
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
    if worker is not None:
        worker.on_parent_gone(stop.set)
        worker.serving()  # after the SIGHUP handler: the supervisor forwards SIGHUPs from now on
    await stop.wait()
    await server.drain()
    await server.stop()
    return 0
