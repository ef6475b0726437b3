"""Shared fixtures: a recording upstream (a real aiohttp server) and a gateway in front of it."""

from __future__ import annotations

import asyncio
import textwrap
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import create_app
from gateway.config import Config, config_from_text
from gateway.edge.server import make_runner
from gateway.settings import SOURCES, SettingsSource, make_source
from gateway.settings.poller import Poller
from gateway.testing import MemorySource
from tests.rawhttp import connect, read_until_closed

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "gateway" / "static" / "unavailable.html"
SESSION_KEY = "k" * 40
# A real store that says "enabled": what a child `portal-gateway run` reads. In-process gateways
# built by the `gateway` fixture with these settings read an injected MemorySource instead,
# which tests switch (YAML cannot name a fake: there is no memory:// scheme).
ENABLED_STORE = f"file://{ROOT / 'tests' / 'data' / 'portal-enabled.json'}"
DEFAULT_SETTINGS = f"source: {ENABLED_STORE}\nfield: enabled\nttl: 2\n"


@dataclass
class Seen:
    """One request as the upstream received it."""

    method: str
    raw_path: str
    headers: list[tuple[str, str]]
    body: bytes
    version: tuple[int, int]

    def header(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


@dataclass
class Upstream:
    server: TestServer
    seen: list[Seen] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ServerFactory = Callable[..., Awaitable[TestServer]]


async def _echo(request: web.Request) -> web.StreamResponse:
    return web.Response(text=f"upstream saw {request.method} {request.raw_path}")


@pytest.fixture
async def upstream(aiohttp_server: Any) -> AsyncIterator[Callable[..., Awaitable[Upstream]]]:
    """Start a recording upstream; routes map a path prefix to a handler, default echoes."""

    async def start(
        routes: dict[str, Handler] | None = None, *, read_body: bool = True
    ) -> Upstream:
        handlers = routes or {}
        box: list[Upstream] = []

        async def handle(request: web.Request) -> web.StreamResponse:
            body = await request.read() if read_body and request.can_read_body else b""
            box[0].seen.append(
                Seen(
                    request.method,
                    request.raw_path,
                    [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers],
                    body,
                    (request.version.major, request.version.minor),
                )
            )
            for prefix, handler in sorted(handlers.items(), key=lambda kv: -len(kv[0])):
                if request.raw_path.startswith(prefix):
                    return await handler(request)
            return await _echo(request)

        app = web.Application(client_max_size=1024**3)
        app.router.add_route("*", "/{tail:.*}", handle)
        server = await aiohttp_server(app, auto_decompress=False)
        box.append(Upstream(server))
        return box[0]

    yield start


def config_text(
    upstream_url: str,
    extra: str = "",
    routes: str | None = None,
    settings: str = "",
    portal: str = "",
) -> str:
    """A gateway config; `portal` adds lines (two-space indented) to `customer_portal`."""
    routes = routes or textwrap.dedent(
        """\
        routes:
          - name: public
            paths: [/public]
            upstream: portal
            portal: public
          - name: office
            paths: [/office, /api/office]
            upstream: portal
            portal: office
          - name: customer
            paths: [/]
            upstream: portal
            portal: customer
        """
    )
    return (
        textwrap.dedent(
            f"""\
            listen: 127.0.0.1:0
            upstreams:
              portal: {upstream_url}
            settings:
            {{settings}}
            customer_portal:
              session_cookies: [portal_session, "remember_*"]
              unavailable_page: {PAGE}
              retry_after: 120
              session_key: {SESSION_KEY}
            """
        )
        + portal
        + routes
        + textwrap.dedent(extra)
    ).replace(
        "{settings}",
        textwrap.indent(textwrap.dedent(settings or DEFAULT_SETTINGS), "  ").rstrip("\n"),
    )


@dataclass
class Gateway:
    client: TestClient[web.Request, web.Application]
    config: Config
    source: SettingsSource
    poller: Poller

    @property
    def port(self) -> int:
        assert self.client.server.port is not None
        return self.client.server.port

    async def set_enabled(self, value: object, changed_at: float | None = None) -> None:
        assert isinstance(self.source, MemorySource)
        self.source.set(value, changed_at)
        await self.poller.refresh()


StartUpstream = Callable[..., Awaitable[Upstream]]
StartGateway = Callable[..., Awaitable[Gateway]]


class GatewayTestServer(TestServer):
    """The test server runs the gateway exactly as `portal-gateway run` does (GatewayRunner)."""

    def __init__(self, app: web.Application, config: Config) -> None:
        super().__init__(app)
        self.config = config

    async def _make_runner(self, **kwargs: Any) -> web.BaseRunner:
        return make_runner(self.app, self.config)


@pytest.fixture
async def gateway(aiohttp_server: Any, aiohttp_client: Any) -> Callable[..., Awaitable[Gateway]]:
    """Start a gateway (a real server) in front of `upstream_url`, portal enabled by default.

    With the default settings (or any settings whose source is ENABLED_STORE, e.g. plus a
    state_file) the store is an injected MemorySource that `set_enabled` switches.
    """

    async def start(
        upstream_url: str,
        extra: str = "",
        *,
        routes: str | None = None,
        portal: str = "",
        enabled: object = True,
        settings: str = "",
        wall: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> Gateway:
        config = config_from_text(
            config_text(upstream_url, extra, routes, settings, portal), "test.yaml", SOURCES
        )
        source: SettingsSource
        if config.settings.source == ENABLED_STORE:
            source = MemorySource(enabled)
        else:
            source = make_source(config.settings)
        wall = wall or time.time
        poller = Poller(source, config.settings, jitter=lambda ttl: 0.0, wall=wall, sleep=sleep)
        app = create_app(config, poller=poller, wall=wall)
        server = GatewayTestServer(app, config)
        client = await aiohttp_client(
            server, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar()
        )
        await poller.wait_ready()
        return Gateway(client, config, source, poller)

    return start


async def raw_exchange(port: int, data: bytes, *, read_timeout: float = 5.0) -> bytes:
    """Send raw bytes to a server and read until it closes (or the timeout): for framing tests."""
    async with connect(port) as (reader, writer):
        writer.write(data)
        await writer.drain()
        received, _ = await read_until_closed(reader, read_timeout)
        return received
