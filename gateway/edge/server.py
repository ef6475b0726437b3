"""GatewayServer: the listeners of one gateway process, started, reloaded, drained, stopped."""

from __future__ import annotations

import asyncio
import errno
import logging
from functools import partial
from typing import Any

from aiohttp import web

from gateway.config import Config
from gateway.edge.keys import ADMIN_APP, CONNECTIONS, DRAINING, METRICS, POLLER, RUNTIME, SOCKETS
from gateway.edge.protocol import GatewayRunner
from gateway.edge.reload import apply_config

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
    """The runner of one listener; its connections count against `app[CONNECTIONS]`, if set."""
    return GatewayRunner(
        app,
        header_timeout=config.proxy.header_timeout,
        connections=app.get(CONNECTIONS),
        shutdown_timeout=config.proxy.drain_timeout,
        **server_options(config),
    )


class GatewayServer:
    """One gateway process's listeners, in named phases: start, reload, drain, stop."""

    def __init__(self, app: web.Application, config: Config) -> None:
        self.app = app
        # The config the listeners were started with (a SIGHUP does not move them); what a
        # SIGHUP may change is read from app[RUNTIME].
        self.config = config
        self._runners: list[web.BaseRunner] = []

    async def start(self, *, worker: bool = False) -> None:
        """Bind the public listener (and the admin one); AddressInUse names a taken address.

        `worker`: this process is one of several serving the same port (`run --workers N`):
        its listeners bind with SO_REUSEPORT, and only once the first store read has finished
        or timed out, since the kernel hands a bound listener its share of new connections
        whether or not readiness would say 200.
        """
        config, app = self.config, self.app
        runner = make_runner(app, config)
        await runner.setup()  # starts the settings poller (gateway/edge/lifecycle.py)
        self._runners = [runner]
        self.app[METRICS].connections["client"] = partial(_client_connections, runner)
        if worker:
            await app[POLLER].wait_ready()
        listen = (config.listen_host, config.listen_port)
        sites = [(listen, web.TCPSite(runner, *listen, reuse_address=True, reuse_port=worker))]
        if config.admin_listen is not None:
            # The admin listener is its own application: it serves the reserved endpoints and
            # proxies nothing, whatever port or address a request names.
            admin_runner = make_runner(app[ADMIN_APP], config)
            await admin_runner.setup()
            self._runners.append(admin_runner)
            admin_site = web.TCPSite(
                admin_runner, *config.admin_listen, reuse_address=True, reuse_port=worker
            )
            sites.append((config.admin_listen, admin_site))
        for (host, port), site in sites:
            try:
                await site.start()
            except OSError as exc:
                await self.stop()
                if exc.errno == errno.EADDRINUSE:
                    raise AddressInUse(host, port) from None
                raise
        if config.admin_listen is not None:
            log.info(
                "reserved endpoints on http://%s:%s%s/", *config.admin_listen, config.admin_prefix
            )

    def reload(self, new: Config) -> list[str]:
        """Apply a re-read config to the next request; returns what still needs a restart."""
        return apply_config(self.app, new)

    async def drain(self) -> None:
        """Readiness 503 first, still accepting for drain_delay; then WebSockets get 1001."""
        proxy = self.app[RUNTIME].runtime.config.proxy
        # A load balancer stops sending once readiness fails; the listener keeps accepting for
        # drain_delay while it notices.
        self.app[DRAINING].active = True
        log.info("draining: readiness 503; still accepting for %ss", proxy.drain_delay)
        await asyncio.sleep(proxy.drain_delay)
        # Before aiohttp's own shutdown closes connections: open WebSockets get 1001, not a drop.
        await self.app[SOCKETS].close_all()

    async def stop(self) -> None:
        """No new connections, idle keep-alive ones closed, in-flight ones given drain_timeout.

        drain_timeout is the runners' own, fixed when they started.
        """
        log.info(
            "stopping: no new connections; in-flight requests have %ss to finish",
            self.config.proxy.drain_timeout,
        )
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners = []
        self.app[METRICS].connections.pop("client", None)


def _client_connections(runner: web.BaseRunner) -> int:
    """Open client connections on the public listener (`open_connections{kind="client"}`)."""
    return len(runner.server.connections) if runner.server is not None else 0
