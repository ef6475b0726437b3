"""Shared fixtures: a recording upstream (a real aiohttp server) and a gateway in front of it."""

from __future__ import annotations

import asyncio
import json
import textwrap
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pytest_aiohttp import AiohttpClient, AiohttpServer

from gateway.app import create_app
from gateway.config import Config, config_from_text
from gateway.edge.selfcheck import SELF_CHECK
from gateway.edge.server import make_runner
from gateway.settings import SOURCES, SettingsSource, make_source
from gateway.settings.poller import Poller
from gateway.testing import MemorySource
from gateway.web.accesslog import AccessLog
from gateway.wire.logline import LINE_MAX
from tests.rawhttp import connect, read_until_closed

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "gateway" / "static" / "unavailable.html"
SESSION_KEY = "k" * 40
# A real store that says "enabled": what a child `portal-gateway run` reads. In-process gateways
# built by the `gateway` fixture with these settings read an injected MemorySource instead,
# which tests switch (YAML cannot name a fake: there is no memory:// scheme).
ENABLED_STORE = f"file://{ROOT / 'tests' / 'data' / 'portal-enabled.json'}"
DEFAULT_SETTINGS = f"source: {ENABLED_STORE}\nfield: enabled\nttl: 2\n"  # as YAML text


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
ServerFactory = AiohttpServer  # the older name tests still import


async def _echo(request: web.Request) -> web.StreamResponse:
    return web.Response(text=f"upstream saw {request.method} {request.raw_path}")


@pytest.fixture
async def upstream(
    aiohttp_server: AiohttpServer,
) -> AsyncIterator[Callable[..., Awaitable[Upstream]]]:
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


DEFAULT_ROUTES: list[dict[str, Any]] = [
    {"name": "public", "paths": ["/public"], "upstream": "portal", "portal": "public"},
    {
        "name": "office",
        "paths": ["/office", "/api/office"],
        "upstream": "portal",
        "portal": "office",
    },
    {"name": "customer", "paths": ["/"], "upstream": "portal", "portal": "customer"},
]

Data = dict[str, Any]


def _data(value: str | Data | list[Any]) -> Any:
    """Keyword values may still be YAML text (the fixture's older API): read them as data."""
    return yaml.safe_load(textwrap.dedent(value)) if isinstance(value, str) else value


def _merge(base: Data, extra: Data) -> Data:
    """`extra` over `base`, mapping by mapping; a None value removes the key."""
    out = dict(base)
    for key, value in extra.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def config_data(
    upstream_url: str,
    *,
    routes: list[Data] | None = None,
    settings: Data | None = None,
    portal: Data | None = None,
    **overrides: Any,
) -> Data:
    """The test gateway's config as data; `overrides` merge into it (None removes a key).

    `settings` replaces the settings section, `portal` adds to `customer_portal`, `routes`
    replaces the route list. Keys keep this order, so a section's line in the dumped text is
    stable (settings on line 4). `admin_listen` is `none` unless overridden: its default,
    127.0.0.1:8082, would be one port for every test running at once.
    """
    data: Data = {
        "listen": "127.0.0.1:0",
        "upstreams": {"portal": upstream_url},
        "settings": dict(settings)
        if settings is not None
        else {"source": ENABLED_STORE, "field": "enabled", "ttl": 2},
        "customer_portal": {
            "session_cookies": ["portal_session", "remember_*"],
            "unavailable_page": str(PAGE),
            "retry_after": 120,
            "session_key": SESSION_KEY,
            **(portal or {}),
        },
        "routes": routes if routes is not None else DEFAULT_ROUTES,
        "admin_listen": "none",
    }
    return _merge(data, overrides)


def config_yaml(data: Data) -> str:
    """YAML text for `data`, one key per line (never folded), in the data's own order."""
    return yaml.safe_dump(data, sort_keys=False, width=1 << 20)


def config_text(
    upstream_url: str,
    extra: str | Data = "",
    routes: str | list[Data] | None = None,
    settings: str | Data = "",
    portal: str | Data = "",
) -> str:
    """`config_yaml(config_data(...))`; each part may be data or, as before, YAML text."""
    return config_yaml(
        config_data(
            upstream_url,
            routes=_data(routes)["routes"] if isinstance(routes, str) else routes,
            settings=_data(settings) if settings else None,
            portal=_data(portal) if portal else None,
            **(_data(extra) if extra else {}),
        )
    )


class Writes:
    """An access log's sink that keeps every `write()` apart, as the kernel would see them."""

    def __init__(self) -> None:
        self.calls: list[bytes] = []

    def __call__(self, data: bytes) -> int:
        self.calls.append(bytes(data))
        return len(data)

    def lines(self) -> list[bytes]:
        """The lines written, newline cut; every write() held whole lines within PIPE_BUF."""
        assert all(call.endswith(b"\n") and len(call) <= LINE_MAX for call in self.calls)
        return [line for call in self.calls for line in call.split(b"\n")[:-1]]


@dataclass
class Gateway:
    client: TestClient[web.Request, web.Application]
    config: Config
    source: SettingsSource
    poller: Poller
    access: AccessLog = field(default_factory=lambda: AccessLog("json"))
    writes: Writes = field(default_factory=Writes)

    def access_lines(self) -> list[str]:
        """The access lines written so far (the writer thread flushed first), newline cut."""
        assert self.access.flush()
        return [line.decode("ascii") for line in self.writes.lines()]

    def access_json(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.access_lines()]

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

    async def start_server(
        self, loop: asyncio.AbstractEventLoop | None = None, **kwargs: Any
    ) -> None:
        await super().start_server(loop, **kwargs)
        # As GatewayServer.start does: the self-check probes this listener.
        assert self.runner is not None
        self.app[SELF_CHECK].listening(self.runner.addresses)


@pytest.fixture
async def gateway(aiohttp_client: AiohttpClient) -> Callable[..., Awaitable[Gateway]]:
    """Start a gateway (a real server) in front of `upstream_url`, portal enabled by default.

    With the default settings (or any settings whose source is ENABLED_STORE, e.g. plus a
    state_file) the store is an injected MemorySource that `set_enabled` switches.

    The test server is the public listener only: without an `admin_listen` in `extra` there
    is no admin listener and `admin_public: true` serves every reserved endpoint on it, so
    tests reach metrics and decision through `client`. A test that sets `admin_listen` gets
    the production split (healthz and readyz only on `client`; `app[ADMIN_APP]` for the rest).
    """

    async def start(
        upstream_url: str,
        extra: str | Data = "",
        *,
        routes: str | list[Data] | None = None,
        portal: str | Data = "",
        enabled: object = True,
        settings: str | Data = "",
        wall: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> Gateway:
        overrides = _data(extra) if extra else {}
        if "admin_listen" not in overrides:
            overrides = {**overrides, "admin_public": True}
        config = config_from_text(
            config_text(upstream_url, overrides, routes, settings, portal), "test.yaml", SOURCES
        )
        source: SettingsSource
        if config.settings.source == ENABLED_STORE:
            source = MemorySource(enabled)
        else:
            source = make_source(config.settings)
        wall = wall or time.time
        poller = Poller(
            source,
            config.settings,
            jitter=lambda ttl: 0.0,
            wall=wall,
            sleep=sleep,
            schedule=config.customer_portal.schedule,
        )
        # The access log goes to `writes`, in the config's form (JSON unless it says text).
        writes = Writes()
        access = AccessLog(config.log_format or "json", writes, interval=0.01)
        app = create_app(config, poller=poller, wall=wall, access_log=access)
        server = GatewayTestServer(app, config)
        # A TestServer client is typed by its request only; this one serves `app`.
        client = cast(
            "TestClient[web.Request, web.Application]",
            await aiohttp_client(
                server, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar()
            ),
        )
        await poller.wait_ready()
        return Gateway(client, config, source, poller, access, writes)

    return start


async def raw_exchange(port: int, data: bytes, *, read_timeout: float = 5.0) -> bytes:
    """Send raw bytes to a server and read until it closes (or the timeout): for framing tests."""
    async with connect(port) as (reader, writer):
        writer.write(data)
        await writer.drain()
        received, _ = await read_until_closed(reader, read_timeout)
        return received
