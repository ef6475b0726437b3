"""The app's cleanup contexts and the readiness and gauge readings, module-level over its keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

from aiohttp import web

from gateway.edge.exchanges import Phase
from gateway.edge.forward import Forwarder, make_session
from gateway.edge.handler import GATEWAY
from gateway.edge.keys import ACCESS_LOG, DRAINING, EXCHANGES, POLLER, RUNTIME, SESSION


async def access_writer(app: web.Application) -> AsyncIterator[None]:
    """The access log's writer thread, first up and last down: the last request's line and
    everything still queued are written at cleanup."""
    access = app[ACCESS_LOG]
    access.start()
    yield
    access.stop()


async def upstream_client(app: web.Application) -> AsyncIterator[None]:
    """The pooled upstream client, for the app's lifetime; its timeouts and pool are fixed."""
    proxy = app[RUNTIME].runtime.config.proxy
    session = make_session(proxy)
    app[SESSION] = session
    app[GATEWAY].forwarder = Forwarder(session, proxy)
    yield
    await session.close()


def _on_portal_change(app: web.Application, enabled: bool) -> None:
    if not enabled:
        # Every customer exchange in flight ends now by its phase, not when it next sends;
        # a committed one gets read_timeout (the current one) to finish (gateway/edge/exchanges.py).
        grace = app[RUNTIME].runtime.config.proxy.read_timeout
        app[EXCHANGES].on_disable(grace=grace)


async def settings_poller(app: web.Application) -> AsyncIterator[None]:
    """The settings poller, started before the first request and stopped after the last."""
    poller = app[POLLER]
    unsubscribe = poller.state.subscribe(partial(_on_portal_change, app))
    await poller.start()
    yield
    unsubscribe()
    await poller.stop()
    await app[EXCHANGES].wait_closed()  # WebSocket closings a disable started


def not_ready(app: web.Application) -> str | None:
    """Why this process should get no traffic yet; None when ready."""
    # Only these two: a store outage later must not take every replica (Office Portal
    # included) out of the load balancer; the gate's own policy covers customers then.
    if app[DRAINING].active:
        return "draining"
    if not app[POLLER].state.ready:
        return "first settings read pending"
    return None


def gauges(app: web.Application) -> dict[str, float]:
    phases = app[EXCHANGES].counts()
    return {
        "portal_gateway_customer_portal_enabled": float(app[POLLER].state.enabled),
        # Answers relaying and WebSockets, as before; in flight counts every phase.
        "portal_gateway_live_customer_connections": float(
            phases[Phase.RELAYING] + phases[Phase.WEBSOCKET]
        ),
        "portal_gateway_customer_exchanges_in_flight": float(sum(phases.values())),
    }
