"""Each settings source against a real store: flipped on and off, and broken every way."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from pytest_aiohttp import AiohttpServer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.config import SettingsConfig, yaml_keys
from gateway.settings import Reading, SettingsUnavailable, make_source
from gateway.settings.poller import Poller
from gateway.settings.sql import engine_url
from tests.services import MYSQL_URL, PG_URL, REDIS_URL, require

CHANGED = 1_700_000_123.0


def settings(options: dict[str, Any], overrides: dict[str, Any]) -> SettingsConfig:
    """A store's settings: the common keys as fields, the store's own keys as its options."""
    merged = {**options, **overrides}
    common = {k: merged.pop(k) for k in list(merged) if k in yaml_keys(SettingsConfig)}
    return SettingsConfig(**common, options=merged)


class Store:
    """A real store the test can write to, and the SettingsConfig that reads it."""

    kind = ""

    async def put(self, value: Any, changed_at: float | None = CHANGED) -> None:
        raise NotImplementedError

    def config(self, **overrides: Any) -> SettingsConfig:
        raise NotImplementedError

    async def close(self) -> None:
        return None


class HttpStore(Store):
    kind = "http"

    def __init__(self, port: int) -> None:
        self.port = port
        self.body: bytes = b"{}"
        self.status = 200
        self.delay = 0.0

    async def handle(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.delay)
        return web.Response(body=self.body, status=self.status, content_type="application/json")

    async def put(self, value: Any, changed_at: float | None = CHANGED) -> None:
        self.body = json.dumps({"portal": {"enabled": value, "changed_at": changed_at}}).encode()

    def config(self, **overrides: Any) -> SettingsConfig:
        options: dict[str, Any] = {
            "source": f"http://127.0.0.1:{self.port}/settings",
            "field": "portal.enabled",
            "changed_at_field": "portal.changed_at",
        }
        return settings(options, overrides)


class FileStore(Store):
    kind = "file"

    def __init__(self, path: Path) -> None:
        self.path = path

    async def put(self, value: Any, changed_at: float | None = CHANGED) -> None:
        if self.path.suffix == ".json":
            self.path.write_text(json.dumps({"enabled": value, "changed_at": changed_at}))
        else:
            self.path.write_text(
                f"enabled: {json.dumps(value)}\nchanged_at: {json.dumps(changed_at)}\n"
            )

    def config(self, **overrides: Any) -> SettingsConfig:
        options = {
            "source": f"file://{self.path}",
            "field": "enabled",
            "changed_at_field": "changed_at",
        }
        return settings(options, overrides)


class SqlStore(Store):
    def __init__(self, kind: str, url: str) -> None:
        self.kind = kind
        self.url = url
        self.table = f"portal_settings_{uuid.uuid4().hex[:10]}"
        self.engine = create_async_engine(engine_url(url))

    async def put(self, value: Any, changed_at: float | None = CHANGED) -> None:
        column = "INTEGER" if isinstance(value, bool | int) else "TEXT"
        async with self.engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE IF EXISTS {self.table}"))
            await conn.execute(
                text(
                    f"CREATE TABLE {self.table} (id INTEGER PRIMARY KEY, enabled {column}, changed_at DOUBLE PRECISION)"
                )
            )
            # Literals, not parameters: asyncpg caches a parameter's type across the
            # DROP/CREATE that changes the column's type.
            if value is None:
                literal = "NULL"
            elif isinstance(value, bool | int):
                literal = str(int(value))
            else:
                shown = value if isinstance(value, str) else json.dumps(value)
                literal = "'" + shown.replace("'", "''") + "'"
            stamp = "NULL" if changed_at is None else repr(changed_at)
            await conn.execute(text(f"INSERT INTO {self.table} VALUES (1, {literal}, {stamp})"))

    def config(self, **overrides: Any) -> SettingsConfig:
        options = {
            "source": self.url,
            "query": f"SELECT enabled, changed_at FROM {self.table} WHERE id = 1",
        }
        return settings(options, overrides)

    async def close(self) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE IF EXISTS {self.table}"))
        await self.engine.dispose()


class RedisStore(Store):
    kind = "redis"

    def __init__(self, url: str) -> None:
        self.url = url
        self.key = f"portal-gateway-test:{uuid.uuid4().hex}"
        self.client = aioredis.from_url(url)

    async def put(self, value: Any, changed_at: float | None = CHANGED) -> None:
        await self.client.set(self.key, value if isinstance(value, str) else json.dumps(value))
        if changed_at is not None:
            await self.client.set(f"{self.key}:changed_at", str(changed_at))

    def config(self, **overrides: Any) -> SettingsConfig:
        return settings({"source": self.url, "key": self.key}, overrides)

    async def close(self) -> None:
        await self.client.delete(self.key, f"{self.key}:changed_at")
        await self.client.aclose()


SERVICE = pytest.mark.services


@pytest.fixture(
    params=[
        "http",
        "json-file",
        "yaml-file",
        "sqlite",
        pytest.param("postgresql", marks=SERVICE),
        pytest.param("mysql", marks=SERVICE),
        pytest.param("redis", marks=SERVICE),
    ]
)
async def store(
    request: pytest.FixtureRequest, aiohttp_server: AiohttpServer, tmp_path: Path
) -> AsyncIterator[Store]:
    kind = request.param
    made: Store
    if kind == "http":
        holder: list[HttpStore] = []

        async def handle(request: web.Request) -> web.Response:
            return await holder[0].handle(request)

        app = web.Application()
        app.router.add_get("/settings", handle)
        server = await aiohttp_server(app)
        assert server.port is not None
        made = HttpStore(server.port)
        holder.append(made)
    elif kind.endswith("file"):
        made = FileStore(tmp_path / ("s.json" if kind == "json-file" else "s.yaml"))
    elif kind == "sqlite":
        made = SqlStore("sqlite", f"sqlite:///{tmp_path}/portal.db")
    elif kind == "postgresql":
        made = SqlStore("postgresql", require("PostgreSQL", PG_URL))
    elif kind == "mysql":
        made = SqlStore("mysql", require("MariaDB", MYSQL_URL))
    else:
        made = RedisStore(require("Redis", REDIS_URL))
    try:
        yield made
    finally:
        await made.close()


async def read(store: Store, **overrides: Any) -> Reading:
    source = make_source(store.config(**overrides))
    try:
        return await source.read()
    finally:
        await source.aclose()


async def test_flipped_on_and_off(store: Store) -> None:
    for value, expected in (
        (True, True),
        (False, False),
        ("on", True),
        ("off", False),
        (1, True),
        (0, False),
    ):
        await store.put(value)
        reading = await read(store)
        assert reading.enabled is expected, value
        assert reading.changed_at == CHANGED


@pytest.mark.parametrize("bad", ["maybe", "", None, 2, "disabled", [True], "<html>true</html>"])
async def test_garbage_and_wrong_types_are_read_errors(store: Store, bad: Any) -> None:
    await store.put(bad)
    with pytest.raises(SettingsUnavailable):
        await read(store)


async def test_unreachable_is_a_read_error_with_the_password_masked(
    store: Store, tmp_path: Path
) -> None:
    unreachable = {
        "http": "http://user:s3cret@127.0.0.1:1/settings",
        "file": f"file://{tmp_path}/missing.json",
        "sqlite": f"sqlite:///{tmp_path}/no-such-dir/x.db",
        "postgresql": "postgresql://postgres:s3cret@127.0.0.1:1/test",
        "mysql": "mysql://root:s3cret@127.0.0.1:1/test",
        "redis": "redis://:s3cret@127.0.0.1:1/0",
    }[store.kind]
    with pytest.raises(SettingsUnavailable) as info:
        await read(store, source=unreachable, timeout=1.0)
    assert "s3cret" not in str(info.value)


async def test_a_hanging_store_times_out_in_the_poller(store: Store) -> None:
    await store.put(True)
    cfg = store.config(timeout=0.3)
    if isinstance(store, HttpStore):
        store.delay = 5.0
    elif isinstance(store, SqlStore) and store.kind != "sqlite":
        sleep = "pg_sleep(5)" if store.kind == "postgresql" else "SLEEP(5)"
        cfg = store.config(timeout=0.3, query=f"SELECT 1 FROM (SELECT {sleep}) AS s")
    elif isinstance(store, RedisStore):
        # Accepts and never answers. The writers are kept: Python 3.13 closes a connection
        # whose StreamWriter is garbage-collected, which would be an error, not a hang.
        held: list[asyncio.StreamWriter] = []
        silent = await asyncio.start_server(lambda r, w: held.append(w), "127.0.0.1", 0)
        port = silent.sockets[0].getsockname()[1]
        cfg = store.config(timeout=0.3, source=f"redis://127.0.0.1:{port}/0")
    else:
        pytest.skip(f"a local {store.kind} store answers or fails, it cannot hang")
    poller = Poller(make_source(cfg), cfg, jitter=lambda t: 0.0)
    try:
        await poller.refresh()
        assert poller.state.last_error is not None
        assert "no answer within 0.3s" in poller.state.last_error
        assert poller.state.enabled is False  # cold start stays closed
    finally:
        await poller.stop()
        if isinstance(store, RedisStore):
            for writer in held:
                writer.close()
            silent.close()
            await silent.wait_closed()
