"""create_app(config) -> web.Application: assembly only."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from gateway.admin.endpoints import Admin
from gateway.config import Config
from gateway.edge.exchanges import Exchanges, Phase
from gateway.edge.forward import Forwarder, RelayResponse, make_session
from gateway.edge.handler import GATEWAY, Gateway
from gateway.edge.keys import (
    ADMIN_APP,
    CONFIG,
    DRAINING,
    EXCHANGES,
    GAUGES,
    METRICS,
    POLLER,
    READY,
    SESSION,
    SOCKETS,
    Draining,
)
from gateway.edge.live import LiveConnections
from gateway.edge.observability import Metrics, access_log
from gateway.edge.responses import error_response
from gateway.settings import make_source
from gateway.settings.poller import Poller
from gateway.wire.headers import request_id

log = logging.getLogger("gateway")


def _session_key(config: Config) -> bytes:
    if config.customer_portal.session_key is not None:
        return config.customer_portal.session_key
    log.warning(
        "no customer_portal.session_key (or PORTAL_GATEWAY_SESSION_KEY): using a random key; "
        "session stamps will not survive a restart or agree across gateway processes"
    )
    return secrets.token_bytes(32)


async def _no_expect(request: web.Request) -> None:
    return None


def _admin_app(app: web.Application, admin: Admin) -> web.Application:
    """The admin listener's own application: the reserved endpoints and nothing else."""
    admin_app = web.Application()

    async def handle(request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        rid = request_id([], False)
        prefix = app[CONFIG].admin_prefix
        path = request.raw_path
        response: web.StreamResponse
        if path.partition("?")[0] == prefix or path.startswith(prefix + "/"):
            response = await admin.handle(request, rid)
        else:
            # The admin listener proxies nothing.
            response = error_response(request, 404, rid)
        access_log(
            request, response, request.remote or "", rid, "admin", time.monotonic() - started
        )
        return response

    @web.middleware
    async def every_request(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await handle(request)

    admin_app.middlewares.append(every_request)
    admin_app.router.add_route("*", "/{tail:.*}", handle, expect_handler=_no_expect)
    return admin_app


def create_app(
    config: Config, *, poller: Poller | None = None, wall: Callable[[], float] = time.time
) -> web.Application:
    """The gateway application; `poller` and the wall clock may be injected (tests).

    With `admin_listen` set, `app[ADMIN_APP]` is the admin listener's own application.
    """
    app = web.Application()
    app[CONFIG] = config
    app[METRICS] = Metrics()
    app[EXCHANGES] = Exchanges()
    app[SOCKETS] = LiveConnections()
    app[DRAINING] = Draining()
    if poller is None:
        poller = Poller(make_source(config.settings), config.settings)
    app[POLLER] = poller
    state = poller.state

    def not_ready() -> str | None:
        # Only these two: a store outage later must not take every replica (Office Portal
        # included) out of the load balancer; the gate's own policy covers customers then.
        if app[DRAINING].active:
            return "draining"
        if not state.ready:
            return "first settings read pending"
        return None

    app[READY] = not_ready

    def gauges() -> dict[str, float]:
        phases = app[EXCHANGES].counts()
        return {
            "portal_gateway_customer_portal_enabled": float(state.enabled),
            # Answers relaying and WebSockets, as before; in flight counts every phase.
            "portal_gateway_live_customer_connections": float(
                phases[Phase.RELAYING] + phases[Phase.WEBSOCKET]
            ),
            "portal_gateway_customer_exchanges_in_flight": float(sum(phases.values())),
        }

    app[GAUGES] = gauges
    gateway = Gateway(app, _session_key(config), wall)
    app[GATEWAY] = gateway
    admin = Admin(
        lambda: gateway.runtime,
        gateway.state,
        wall,
        not_ready=not_ready,
        metrics=lambda: app[METRICS].render(gauges()),
    )
    gateway.admin = admin.handle
    if config.admin_listen is not None:
        app[ADMIN_APP] = _admin_app(app, admin)

    @web.middleware
    async def every_request(request: web.Request, handler: Handler) -> web.StreamResponse:
        # Every request, even one aiohttp's router cannot match (CONNECT host:port, OPTIONS *),
        # is answered by the gateway itself, never by aiohttp's defaults.
        return await gateway.handle(request)

    app.middlewares.append(every_request)

    async def upstream_client(app: web.Application) -> AsyncIterator[None]:
        session = make_session(config.proxy)
        app[SESSION] = session
        gateway.forwarder = Forwarder(session, config.proxy)
        yield
        await session.close()

    def on_portal_change(enabled: bool) -> None:
        if not enabled:
            # Every customer exchange in flight ends now by its phase, not when it next sends;
            # a committed one gets read_timeout to finish (gateway/exchanges.py).
            app[EXCHANGES].on_disable(grace=gateway.config.proxy.read_timeout)

    async def settings_poller(app: web.Application) -> AsyncIterator[None]:
        unsubscribe = state.subscribe(on_portal_change)
        await poller.start()
        yield
        unsubscribe()
        await poller.stop()
        await app[EXCHANGES].wait_closed()  # WebSocket closings a disable started

    own_server = config.proxy.server_header or "portal-gateway"

    async def name_our_answers(request: web.Request, response: web.StreamResponse) -> None:
        # Answers the gateway gives itself say so; relayed ones keep the upstream's Server.
        if not isinstance(response, RelayResponse):
            response.headers[hdrs.SERVER] = own_server

    app.on_response_prepare.append(name_our_answers)
    if config.admin_listen is not None:
        app[ADMIN_APP].on_response_prepare.append(name_our_answers)

    app.cleanup_ctx.append(upstream_client)
    app.cleanup_ctx.append(settings_poller)
    # Expect is answered by the forwarder (or never, when the gate answers first): aiohttp's
    # default would send 100 Continue before the gateway has decided anything.
    app.router.add_route("*", "/{tail:.*}", gateway.handle, expect_handler=_no_expect)
    return app
