"""The app's cleanup contexts, readiness and the metrics' readings, module-level over its keys."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from functools import partial

from aiohttp import web

from gateway.edge.exchanges import Phase
from gateway.edge.forward import Forwarder, make_session
from gateway.edge.handler import GATEWAY
from gateway.edge.keys import (
    ACCESS_LOG,
    DRAINING,
    EXCHANGES,
    METRICS,
    POLLER,
    RUNTIME,
    SESSION,
    SOCKETS,
    UPSTREAM_ERRORS,
)
from gateway.web.reminder import remind

# How often this process writes its gauges (every worker's, for the merged scrape) and the
# upstream errors' summary is due.
SAMPLE_INTERVAL = 1.0


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
    timing = app[METRICS].upstream_duration
    app[GATEWAY].forwarder = Forwarder(
        session,
        proxy,
        app[UPSTREAM_ERRORS],
        timing=lambda upstream, seconds: timing.labels(upstream=upstream).observe(seconds),
    )
    yield
    await session.close()


def _on_portal_change(app: web.Application, enabled: bool) -> None:
    app[METRICS].state_changes.inc()
    observe_state(app)
    if not enabled and not app[RUNTIME].runtime.gate.shadow:
        # Every customer exchange in flight ends now by its phase, not when it next sends;
        # a committed one gets read_timeout (the current one) to finish (gateway/edge/exchanges.py).
        grace = app[RUNTIME].runtime.config.proxy.read_timeout
        app[EXCHANGES].on_disable(grace=grace)


async def settings_poller(app: web.Application) -> AsyncIterator[None]:
    """The settings poller, started before the first request and stopped after the last."""
    poller = app[POLLER]
    unsubscribe = poller.state.subscribe(partial(_on_portal_change, app))
    hook = partial(_on_read, app)
    poller.read_hooks.append(hook)
    await poller.start()
    observe_state(app)  # the state file's or the cold start's, until the first read
    yield
    unsubscribe()
    poller.read_hooks.remove(hook)
    await poller.stop()
    await app[EXCHANGES].wait_closed()  # WebSocket closings a disable started


async def shadow_reminder(app: web.Application) -> AsyncIterator[None]:
    """Shadow mode's WARNING at start and once a minute while it lasts (after SIGHUPs too)."""
    task = asyncio.create_task(
        remind(lambda: app[RUNTIME].runtime.gate.shadow), name="shadow-reminder"
    )
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def not_ready(app: web.Application) -> str | None:
    """Why this process should get no traffic yet; None when ready."""
    # Only these two: a store outage later must not take every replica (Office Portal
    # included) out of the load balancer; the gate's own policy covers customers then.
    if app[DRAINING].active:
        return "draining"
    if not app[POLLER].state.ready:
        return "first settings read pending"
    return None


def _on_read(app: web.Application, result: str) -> None:
    app[METRICS].settings_read(result)
    observe_state(app)


def observe_state(app: web.Application) -> None:
    """The portal gauges, from the poller's state now."""
    max_stale = app[RUNTIME].runtime.config.settings.max_stale
    app[METRICS].observe_state(app[POLLER].state, max_stale, time.time())


def count_connections(app: web.Application) -> None:
    """The app's own sources of `portal_gateway_open_connections{kind}`."""
    exchanges, sockets = app[EXCHANGES], app[SOCKETS]

    def relaying() -> int:
        phases = exchanges.counts()
        return phases[Phase.RELAYING] + phases[Phase.WEBSOCKET]

    sources = app[METRICS].connections
    sources["customer_exchanges"] = lambda: sum(exchanges.counts().values())  # any phase
    sources["customer_relaying"] = relaying  # answers relaying and WebSockets
    sources["websocket"] = lambda: len(sockets)  # relayed WebSockets, both portals


def refresh_metrics(app: web.Application) -> None:
    """Every gauge read from the app's state, now."""
    observe_state(app)
    app[METRICS].sample()


async def metrics_sampler(app: web.Application) -> AsyncIterator[None]:
    """Gauges refreshed every SAMPLE_INTERVAL, so every worker's file is current for the
    merged scrape; the upstream errors' summary written when due, and once more at the end."""

    async def sample() -> None:
        while True:
            await asyncio.sleep(SAMPLE_INTERVAL)
            refresh_metrics(app)
            app[UPSTREAM_ERRORS].flush_due()

    task = asyncio.create_task(sample(), name="metrics-sampler")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    app[UPSTREAM_ERRORS].flush()
