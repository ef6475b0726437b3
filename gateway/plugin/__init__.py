"""The gate as an aiohttp plugin: a portal that is itself an aiohttp app runs it in-process.

    from gateway import plugin
    plugin.setup(app, "gateway.yaml")   # or a Config from gateway.config.load_config

The same YAML routes classify the app's own requests and the same `Decision` applies: the
unavailable page, customers logged out, stale sessions withheld from the handlers, stamps on
the answers, and the in-flight rules (gateway/plugin/inflight.py). The settings poller runs in
the app's `cleanup_ctx`. Forwarding does not apply: `upstreams` and `routes[].upstream` are
still required by the config schema (one file serves every front end) but are not read here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from gateway.config import Config, load_config
from gateway.plugin.middleware import PLUGIN, PluginGate, gate_middleware, on_response_prepare
from gateway.settings import SOURCES, make_source
from gateway.settings.poller import Poller
from gateway.web.reminder import remind
from gateway.web.session_key import session_key

__all__ = ["PLUGIN", "PluginGate", "setup"]

log = logging.getLogger("gateway.plugin")


def setup(
    app: web.Application,
    config: Config | str | os.PathLike[str],
    *,
    poller: Poller | None = None,
    wall: Callable[[], float] = time.time,
) -> PluginGate:
    """Install the gate in `app`; `poller` and the wall clock may be injected (tests).

    Call it after the app's own middlewares and `on_response_prepare` handlers are added:
    the gate becomes the outermost middleware (so session middlewares see the Cookie header
    it leaves) and sees the answer's Set-Cookie lines after the app's own handlers set them.
    A path is read with `load_config`, which raises `ConfigError` (FILE:LINE: key: message).
    """
    if not isinstance(config, Config):
        config = load_config(config, sources=SOURCES)
    if poller is None:
        poller = Poller(
            make_source(config.settings),
            config.settings,
            schedule=config.customer_portal.schedule,
        )
    gate = PluginGate(config, session_key(config, log, "processes"), poller, wall)
    if config.customer_portal.self_check is not None:
        # The app owns its listener and its address: probe it from outside instead.
        log.warning(
            "customer_portal.self_check: not run in plugin mode (the app's own server is the "
            "listener; the gateway knows neither its address nor its proxy)"
        )
    app[PLUGIN] = gate
    app.middlewares.insert(0, gate_middleware)
    app.on_response_prepare.append(on_response_prepare)

    async def settings_poller(app: web.Application) -> AsyncIterator[None]:
        unsubscribe = poller.state.subscribe(gate.on_portal_change)
        gate.accounting.access.start()
        await poller.start()
        # No load balancer asks this app's readiness: it serves once the store has answered
        # (or failed, or timed out, and the cold-start policy applies), never on a guess.
        await poller.wait_ready()
        reminder = asyncio.create_task(remind(lambda: gate.runtime.gate.shadow))
        yield
        reminder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reminder
        unsubscribe()
        await poller.stop()
        await gate.inflight.wait_closed()  # WebSocket closings a disable started
        gate.accounting.access.stop()  # the last lines written

    app.cleanup_ctx.append(settings_poller)
    return gate
