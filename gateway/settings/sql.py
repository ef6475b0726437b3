"""SQL stores (`sqlite:///`, `postgresql://`, `mysql://`) through SQLAlchemy's asyncio engine.

The query returns one row: the setting in the first column and, optionally, when it last
changed in the second (a timestamp or epoch seconds), so every gateway process agrees on the
moment of the last disable, and staff's note for customers in the third (text or NULL).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text as sql_text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from gateway.config import SettingsConfig
from gateway.settings import Reading, SettingsUnavailable, parse_flag
from gateway.settings.document import message_text, parse_time
from gateway.settings.options import Driver, Option, Schema, forgets_without_second_column, text
from gateway.wire.values import mask_secrets, mask_url

DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "mysql": "mysql+aiomysql",
}


# SQLAlchemy itself is a core dependency; the drivers come with the extras, and SQLAlchemy
# imports one only when the engine is created, at the first read.
SCHEMA = Schema(
    options=(Option("query", "an SQL query", required=True),),
    drivers={
        "postgresql": Driver(("asyncpg",), "postgresql"),
        "mysql": Driver(("aiomysql", "pymysql"), "mysql"),
    },
    forgets=forgets_without_second_column,
)


def engine_url(source: str) -> str:
    """The SQLAlchemy URL: the configured scheme with the asyncio driver this package ships."""
    scheme, rest = source.split(":", 1)
    return DRIVERS[scheme.split("+", 1)[0].lower()] + ":" + rest


class SqlSource:
    """Runs `query` on a small pooled engine; the first row is the answer.

    Booleans arrive as bool, int or text depending on the database; `parse_flag` takes them
    all. A second column, when present, is the change time: a timestamp (naive = UTC) or epoch
    seconds.
    """

    def __init__(self, cfg: SettingsConfig) -> None:
        self.url = cfg.source
        self.description = mask_url(cfg.source)
        self.query = sql_text(text(cfg, "query") or "")
        self.timeout = cfg.timeout
        self._engine: AsyncEngine | None = None

    def _connect(self) -> AsyncEngine:
        if self._engine is None:
            options: dict[str, Any] = {"pool_pre_ping": True}
            if not self.url.startswith("sqlite"):
                options.update(
                    pool_size=1, max_overflow=1, pool_timeout=self.timeout, pool_recycle=300
                )
                # A dead database must fail the read fast, not after the OS's TCP timeout.
                options["connect_args"] = (
                    {"timeout": self.timeout}
                    if self.url.startswith("postgresql")
                    else {"connect_timeout": max(1, int(self.timeout))}
                )
            else:
                options["connect_args"] = {"timeout": self.timeout}
            self._engine = create_async_engine(engine_url(self.url), **options)
        return self._engine

    async def read(self) -> Reading:
        try:
            async with self._connect().connect() as conn:
                row = (await conn.execute(self.query)).first()
        except Exception as exc:  # driver errors come in many classes; all are read errors
            cause = getattr(exc, "orig", None) or exc
            lines = str(cause).splitlines()
            # SECURITY: drivers quote the DSN in some messages; never show the password.
            why = mask_secrets(lines[0] if lines else type(cause).__name__, self.url)
            raise SettingsUnavailable(f"{self.description}: {why}") from None
        if row is None:
            raise SettingsUnavailable(f"{self.description}: the query returned no row")
        enabled = parse_flag(row[0], self.description)
        changed_at = None
        if len(row) > 1 and row[1] is not None:
            # PostgreSQL's EXTRACT(EPOCH FROM ...) and MySQL's UNIX_TIMESTAMP() give decimals,
            # which parse_time takes (NaN and infinity included, as read errors).
            changed_at = parse_time(row[1], self.description)
        message = message_text(row[2]) if len(row) > 2 else None
        return Reading(enabled, changed_at, message)

    async def aclose(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None


def create(cfg: SettingsConfig) -> SqlSource:
    """The `sqlite:///`, `postgresql://` or `mysql://` source; the engine opens at first read."""
    return SqlSource(cfg)
