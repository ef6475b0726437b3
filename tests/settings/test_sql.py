"""The SQL source: SQLite on disk, and the real PostgreSQL and MariaDB (tests/services.py)."""

from __future__ import annotations

import re
import sqlite3
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.config import SettingsConfig
from gateway.settings import Reading, SettingsUnavailable, make_source
from gateway.settings.poller import Poller
from gateway.settings.sql import engine_url
from tests.services import MYSQL_URL, PG_URL, require


async def read(cfg: SettingsConfig) -> Reading:
    source = make_source(cfg)
    try:
        return await source.read()
    finally:
        await source.aclose()


@pytest.mark.parametrize(
    ("source", "url"),
    [
        ("sqlite:///rel/p.db", "sqlite+aiosqlite:///rel/p.db"),
        ("sqlite:////abs/p.db", "sqlite+aiosqlite:////abs/p.db"),
        ("postgresql://u:p@h:5432/d", "postgresql+asyncpg://u:p@h:5432/d"),
        ("postgresql+asyncpg://h/d", "postgresql+asyncpg://h/d"),
        ("mysql://root@h/d", "mysql+aiomysql://root@h/d"),
    ],
)
def test_engine_url_picks_the_asyncio_driver(source: str, url: str) -> None:
    assert engine_url(source) == url


async def test_sqlite_no_row_is_an_error(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE s (enabled INTEGER)")
    cfg = SettingsConfig(source=f"sqlite:///{db}", options={"query": "SELECT enabled FROM s"})
    with pytest.raises(SettingsUnavailable, match=r"^sqlite:///.*: the query returned no row$"):
        await read(cfg)


async def test_sqlite_relative_path_and_a_naive_timestamp_as_utc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with sqlite3.connect(tmp_path / "portal.db") as conn:
        conn.execute("CREATE TABLE s (enabled TEXT, changed_at TIMESTAMP)")
        conn.execute("INSERT INTO s VALUES ('yes', '2023-11-14 22:13:20')")
    cfg = SettingsConfig(
        source="sqlite:///portal.db", options={"query": "SELECT enabled, changed_at FROM s"}
    )
    assert await read(cfg) == Reading(True, 1_700_000_000.0)


async def test_a_broken_query_is_a_read_error(tmp_path: Path) -> None:
    cfg = SettingsConfig(
        source=f"sqlite:///{tmp_path}/x.db", options={"query": "SELECT enabled FROM nowhere"}
    )
    with pytest.raises(SettingsUnavailable, match="no such table: nowhere"):
        await read(cfg)


@pytest.mark.parametrize(
    ("column", "why"),
    [
        ("9e999", "inf is not a finite number"),
        ("-9e999", "-inf is not a finite number"),
        ("-1", "-1 is before 1970"),
        ("'9999-12-31 23:59:59'", "is more than a day ahead of this clock"),
    ],
)
async def test_sqlite_change_times_that_cannot_date_a_disable_are_read_errors(
    tmp_path: Path, column: str, why: str
) -> None:
    cfg = SettingsConfig(
        source=f"sqlite:///{tmp_path}/x.db", options={"query": f"SELECT 0, {column}"}
    )
    with pytest.raises(SettingsUnavailable, match=rf"^sqlite:///.*: change time .*{why}$"):
        await read(cfg)


@pytest.mark.services
@pytest.mark.parametrize(
    ("kind", "column", "why"),
    [
        ("postgresql", "'NaN'::numeric", "Decimal('NaN') is not a finite number"),
        ("postgresql", "'Infinity'::float8", "inf is not a finite number"),
        ("postgresql", "EXTRACT(EPOCH FROM 'infinity'::timestamp)", "Decimal('Infinity')"),
        ("postgresql", "'infinity'::timestamptz", "beyond the year 9999"),
        ("postgresql", "'-infinity'::timestamp", "before 1970"),
        ("mysql", "TIMESTAMP '9999-12-31 23:59:59'", "more than a day ahead of this clock"),
        ("mysql", "-1.5", "Decimal('-1.5') is before 1970"),
    ],
)
async def test_server_change_times_that_cannot_date_a_disable_are_read_errors(
    kind: str, column: str, why: str
) -> None:
    url = require("PostgreSQL", PG_URL) if kind == "postgresql" else require("MariaDB", MYSQL_URL)
    cfg = SettingsConfig(source=url, options={"query": f"SELECT false, {column}"})
    with pytest.raises(SettingsUnavailable, match=rf": change time .*{re.escape(why)}"):
        await read(cfg)


@pytest.fixture(params=["postgresql", "mysql"])
def server_url(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        return require("PostgreSQL", PG_URL)
    return require("MariaDB", MYSQL_URL)


@pytest.mark.services
async def test_timestamp_and_decimal_epoch_change_times(server_url: str) -> None:
    table = f"portal_ts_{uuid.uuid4().hex[:10]}"
    pg = server_url.startswith("postgresql")
    engine = create_async_engine(engine_url(server_url))
    try:
        async with engine.begin() as conn:
            column = "TIMESTAMP" if pg else "DATETIME(6)"
            await conn.execute(text(f"CREATE TABLE {table} (enabled BOOLEAN, at {column})"))
            await conn.execute(
                text(f"INSERT INTO {table} VALUES (TRUE, '2023-11-14 22:13:20.500000')")
            )
        # Both come back as Decimal: PostgreSQL's numeric, MariaDB's DECIMAL division.
        epoch = (
            "EXTRACT(EPOCH FROM at AT TIME ZONE 'UTC')"
            if pg
            else "TIMESTAMPDIFF(MICROSECOND, '1970-01-01', at) / 1000000"
        )
        for query in (f"SELECT enabled, at FROM {table}", f"SELECT enabled, {epoch} FROM {table}"):
            cfg = SettingsConfig(source=server_url, options={"query": query})
            assert await read(cfg) == Reading(True, 1_700_000_000.5), query
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        await engine.dispose()


async def test_sqlite_a_third_column_is_staffs_note(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE s (enabled INTEGER, at REAL, note TEXT)")
        conn.execute("INSERT INTO s VALUES (0, NULL, 'Back after the billing run')")
    cfg = SettingsConfig(source=f"sqlite:///{db}", options={"query": "SELECT * FROM s"})
    assert await read(cfg) == Reading(False, None, "Back after the billing run")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE s SET note = NULL")
    assert await read(cfg) == Reading(False, None, None)


@pytest.mark.services
async def test_server_a_third_column_is_staffs_note(server_url: str) -> None:
    table = f"portal_note_{uuid.uuid4().hex[:10]}"
    engine = create_async_engine(engine_url(server_url))
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"CREATE TABLE {table} (enabled BOOLEAN, note TEXT)"))
            await conn.execute(text(f"INSERT INTO {table} VALUES (FALSE, 'Back at 14:00')"))
        query = f"SELECT enabled, NULL, note FROM {table}"
        cfg = SettingsConfig(source=server_url, options={"query": query})
        assert await read(cfg) == Reading(False, None, "Back at 14:00")
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        await engine.dispose()


@pytest.mark.slow
@pytest.mark.services
async def test_reads_recover_after_hanging_queries_and_the_pool_does_not_leak(
    server_url: str,
) -> None:
    # The query hangs (3 s server-side) while another connection holds a lock, and answers at
    # once when it is free. Three timed-out reads would exhaust a pool of 1 + 1 overflow if a
    # cancelled read kept its connection.
    pg = server_url.startswith("postgresql")
    lock_id = uuid.uuid4().int % 2**31
    lock_name = f"portal-gateway-{lock_id}"
    if pg:
        query = (
            "SELECT 'on' FROM (SELECT pg_sleep(CASE WHEN "
            f"pg_try_advisory_xact_lock_shared({lock_id}) THEN 0 ELSE 3 END)) AS s"
        )
        take, free = f"SELECT pg_advisory_lock({lock_id})", f"SELECT pg_advisory_unlock({lock_id})"
    else:
        query = f"SELECT 'on' FROM (SELECT SLEEP(IF(IS_FREE_LOCK('{lock_name}'), 0, 3))) AS s"
        take, free = f"SELECT GET_LOCK('{lock_name}', 1)", f"SELECT RELEASE_LOCK('{lock_name}')"
    cfg = SettingsConfig(source=server_url, options={"query": query}, timeout=0.3)
    holder = create_async_engine(engine_url(server_url))
    poller = Poller(make_source(cfg), cfg, jitter=lambda t: 0.0)
    try:
        async with holder.connect() as conn:
            await conn.execute(text(take))
            for _ in range(3):
                await poller.refresh()
                assert poller.state.last_error == f"{server_url}: no answer within 0.3s"
                assert poller.state.enabled is False
            await conn.execute(text(free))
        await poller.refresh()
        assert poller.state.last_error is None
        assert poller.state.enabled is True
    finally:
        await poller.stop()
        await holder.dispose()
