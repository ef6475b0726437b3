"""Typed application keys shared by the app's parts (aiohttp `web.AppKey`)."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
from aiohttp import web

from gateway.edge.exchanges import Exchanges
from gateway.edge.limits import ConnectionLimit
from gateway.edge.live import LiveConnections
from gateway.edge.upstream_errors import UpstreamErrors
from gateway.policy.runtime import Runtime
from gateway.settings.poller import Poller
from gateway.web.accesslog import AccessLog
from gateway.web.metrics import GatewayMetrics


class Current:
    """The running config and gate: SIGHUP replaces `runtime` whole, in one attribute store.

    Every reader takes `runtime` when it needs it (a request once, at its start), so nothing
    keeps a config from before the last SIGHUP; no key holds a bare Config.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime


RUNTIME = web.AppKey("runtime", Current)
SESSION = web.AppKey("session", aiohttp.ClientSession)
METRICS = web.AppKey("metrics", GatewayMetrics)
UPSTREAM_ERRORS = web.AppKey("upstream_errors", UpstreamErrors)
ACCESS_LOG = web.AppKey("access_log", AccessLog)
# Readiness: why this process should not get traffic yet (None: ready). Set by whoever owns the
# settings poller; ready when absent (no store to wait for).
READY: web.AppKey[Callable[[], str | None]] = web.AppKey("ready_check")
EXCHANGES = web.AppKey("customer_exchanges", Exchanges)
SOCKETS = web.AppKey("relayed_websockets", LiveConnections)


class Draining:
    """Set on SIGTERM: readiness turns 503 while in-flight requests finish."""

    active = False


DRAINING = web.AppKey("draining", Draining)
POLLER = web.AppKey("poller", Poller)
# The bound on client connections, shared by both listeners (the admin app holds the same
# object). Its `refused`, `reclaimed` and `accept_errors` are plain counters for the metrics.
CONNECTIONS = web.AppKey("client_connections", ConnectionLimit)
# The admin listener's own application (only with `admin_listen`).
ADMIN_APP = web.AppKey("admin_app", web.Application)
