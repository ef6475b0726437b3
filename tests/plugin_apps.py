"""An aiohttp app with the gate plugged in, its handlers recording what they saw (real server)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpServer

from gateway import plugin
from gateway.config import Config
from gateway.plugin import PluginGate
from gateway.settings.poller import Poller
from gateway.testing import MemorySource

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class AppSaw:
    """One request as the app's handler received it."""

    method: str
    path: str
    cookies: tuple[str, ...]  # its Cookie lines

    def cookie(self) -> str:
        return "; ".join(self.cookies)


@dataclass
class PluginApp:
    server: TestServer
    gate: PluginGate
    source: MemorySource
    poller: Poller
    seen: list[AppSaw] = field(default_factory=list)

    @property
    def port(self) -> int:
        assert self.server.port is not None
        return self.server.port

    async def set_enabled(self, value: object, changed_at: float | None = None) -> None:
        self.source.set(value, changed_at)
        await self.poller.refresh()


async def start_plugin_app(
    aiohttp_server: AiohttpServer,
    config: Config,
    routes: dict[str, Handler] | None = None,
    *,
    wall: Callable[[], float] | None = None,
) -> PluginApp:
    """Serve an app whose catch-all handler records the request; `routes` add handlers by
    path prefix (they are recorded too). The portal starts enabled."""
    source = MemorySource(True)
    clock = wall or time.time
    poller = Poller(source, config.settings, jitter=lambda ttl: 0.0, wall=clock)
    app = web.Application()
    box: list[PluginApp] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        box[0].seen.append(
            AppSaw(request.method, request.raw_path, tuple(request.headers.getall("Cookie", [])))
        )
        for prefix, handler in sorted((routes or {}).items(), key=lambda kv: -len(kv[0])):
            if request.path.startswith(prefix):
                return await handler(request)
        return web.Response(text=f"app saw {request.method} {request.raw_path}")

    app.router.add_route("*", "/{tail:.*}", handle)
    gate = plugin.setup(app, config, poller=poller, wall=clock)
    server = await aiohttp_server(app)
    await poller.wait_ready()
    box.append(PluginApp(server, gate, source, poller))
    return box[0]
