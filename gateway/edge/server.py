"""GatewayServer: the listeners of one gateway process, started, reloaded, drained, stopped."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from functools import partial
from typing import Any

from aiohttp import web

from gateway.config import Config
from gateway.config.crosschecks import show_address
from gateway.edge.accept import AcceptingSite
from gateway.edge.keys import ADMIN_APP, CONNECTIONS, DRAINING, METRICS, POLLER, RUNTIME, SOCKETS
from gateway.edge.protocol import GatewayRunner
from gateway.edge.reload import apply_config
from gateway.edge.selfcheck import SELF_CHECK

log = logging.getLogger("gateway")


class AddressInUse(Exception):
    """A listener's address is taken; the CLI turns this into one line naming it."""

    def __init__(self, host: str, port: int, hint: str = "") -> None:
        super().__init__(f"{show_address(host, port)} is already in use{hint}")
        self.host, self.port = host, port


def bind_addresses(host: str, port: int) -> list[str]:
    """The addresses binding `host:port` takes, as asyncio's create_server resolves them
    (every interface: one wildcard per address family), IPv4 first; OSError when a name does
    not resolve.
    """
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    out: list[str] = []
    for _family, _type, _proto, _name, sockaddr in sorted(infos, key=lambda info: info[0]):
        shown = show_address(str(sockaddr[0]), port)
        if shown not in out:
            out.append(shown)
    return out


def _shown(sockname: Any) -> str:
    return show_address(str(sockname[0]), int(sockname[1]))


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

    def addresses(self) -> list[str]:
        """The public listener's bound addresses (`[::]:8080`): its sockets, once started."""
        return [_shown(name) for name in self._runners[0].addresses] if self._runners else []

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
        # An empty host (a bare port) is None to aiohttp: every interface, IPv4 and IPv6.
        # Both listeners accept in Python under uvloop too, so failed accepts are counted
        # (gateway/edge/accept.py).
        public = AcceptingSite(
            runner, listen[0] or None, listen[1], reuse_port=worker, connections=app[CONNECTIONS]
        )
        sites: list[tuple[tuple[str, int], web.TCPSite, str]] = [(listen, public, "")]
        if config.admin_listen is not None:
            # The admin listener is its own application: it serves the reserved endpoints and
            # proxies nothing, whatever port or address a request names.
            admin_runner = make_runner(app[ADMIN_APP], config)
            await admin_runner.setup()
            self._runners.append(admin_runner)
            ahost, aport = config.admin_listen
            admin_site = AcceptingSite(
                admin_runner, ahost or None, aport, reuse_port=worker, connections=app[CONNECTIONS]
            )
            # The admin listener's default port is taken on upgrades that never set it.
            hint = " (admin_listen: set another host:port, or none)"
            sites.append((config.admin_listen, admin_site, hint))
        for (host, port), site, hint in sites:
            try:
                await site.start()
            except OSError as exc:
                await self.stop()
                if exc.errno == errno.EADDRINUSE:
                    raise AddressInUse(host, port, hint) from None
                raise
        app[SELF_CHECK].listening(runner.addresses)  # the first check, after the first read
        if config.admin_listen is not None:
            prefix = config.admin_prefix
            bound = [f"http://{_shown(a)}{prefix}/" for a in self._runners[1].addresses]
            log.info("reserved endpoints on %s", ", ".join(bound))

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
