"""create_app(config) -> web.Application: assembly only.

Every part is module-level and reads the app's typed keys (gateway/edge/keys.py): the
middlewares and response signal in gateway/edge/middlewares.py, the cleanup contexts in
gateway/edge/lifecycle.py, the admin listener in gateway/edge/admin_listener.py.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial

from aiohttp import web

from gateway.admin.endpoints import Admin
from gateway.config import Config
from gateway.edge.admin_listener import admin_app
from gateway.edge.exchanges import Exchanges
from gateway.edge.handler import GATEWAY, Gateway
from gateway.edge.keys import (
    ACCESS_LOG,
    ADMIN_APP,
    CONNECTIONS,
    DRAINING,
    EXCHANGES,
    METRICS,
    POLLER,
    READY,
    RUNTIME,
    SOCKETS,
    UPSTREAM_ERRORS,
    Current,
    Draining,
)
from gateway.edge.lifecycle import (
    access_writer,
    count_connections,
    metrics_sampler,
    not_ready,
    refresh_metrics,
    settings_poller,
    shadow_reminder,
    upstream_client,
)
from gateway.edge.limits import connection_limit
from gateway.edge.live import LiveConnections
from gateway.edge.middlewares import (
    add_catch_all,
    answer_unroutable,
    count_decisions,
    log_access,
    name_our_answers,
)
from gateway.edge.selfcheck import SELF_CHECK, SelfChecker, self_checker
from gateway.edge.upstream_errors import UpstreamErrors
from gateway.policy import Gate
from gateway.policy.runtime import Runtime
from gateway.settings import make_source
from gateway.settings.poller import Poller
from gateway.settings.state import PortalState
from gateway.web.accesslog import AccessLog, stderr_format
from gateway.web.metrics import GatewayMetrics
from gateway.web.session_key import session_key

log = logging.getLogger("gateway")


def _runtime(app: web.Application) -> Runtime:
    return app[RUNTIME].runtime


def _portal(app: web.Application) -> PortalState:
    return app[POLLER].state


def _metrics_text(app: web.Application) -> str:
    refresh_metrics(app)  # this process's gauges as of the scrape
    return app[METRICS].render()


def create_app(
    config: Config,
    *,
    poller: Poller | None = None,
    wall: Callable[[], float] = time.time,
    access_log: AccessLog | None = None,
) -> web.Application:
    """The gateway application; `poller`, the wall clock and the access log's writer may be
    injected (tests). By default the access log goes to stderr in `config.log_format`.

    With `admin_listen` set, `app[ADMIN_APP]` is the admin listener's own application, serving
    every reserved endpoint; the public listener serves healthz and readyz (all of them with
    `admin_public`).
    """
    # answer_unroutable innermost: what it answers is counted and logged like the rest.
    app = web.Application(middlewares=[log_access, count_decisions, answer_unroutable])
    key = session_key(config, log, "gateway processes")
    app[RUNTIME] = Current(Runtime(config, Gate(config, key)))
    metrics = app[METRICS] = GatewayMetrics()  # its own registry: many apps per test process
    app[UPSTREAM_ERRORS] = UpstreamErrors(metrics.upstream_error)
    app[ACCESS_LOG] = access_log or AccessLog(config.log_format or stderr_format())
    app[EXCHANGES] = Exchanges()
    app[SOCKETS] = LiveConnections()
    app[DRAINING] = Draining()
    app[CONNECTIONS] = connection_limit(config.proxy)
    app[POLLER] = poller or Poller(
        make_source(config.settings), config.settings, schedule=config.customer_portal.schedule
    )
    ready: Callable[[], str | None] = partial(not_ready, app)
    app[READY] = ready
    count_connections(app)
    gateway = app[GATEWAY] = Gateway(app, key, wall)
    checker = app[SELF_CHECK] = SelfChecker(app, wall=wall)
    admin = Admin(
        partial(_runtime, app),
        gateway.state,
        wall,
        not_ready=app[READY],
        metrics=partial(_metrics_text, app),
        portal=partial(_portal, app),
        self_check=checker.document,
    )
    gateway.admin = admin.public
    if config.admin_listen is not None:
        app[ADMIN_APP] = admin_app(app[RUNTIME], admin.handle, app[ACCESS_LOG], metrics)
        app[ADMIN_APP][CONNECTIONS] = app[CONNECTIONS]  # one bound for both listeners
    app.on_response_prepare.append(name_our_answers)
    app.cleanup_ctx.append(access_writer)
    app.cleanup_ctx.append(upstream_client)
    app.cleanup_ctx.append(settings_poller)
    app.cleanup_ctx.append(self_checker)
    app.cleanup_ctx.append(shadow_reminder)
    app.cleanup_ctx.append(metrics_sampler)
    add_catch_all(app, gateway.handle)
    return app
