"""Where staff's "Enable Customer Portal" is read: one small module per store, by URL scheme."""

from __future__ import annotations

import importlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from gateway.config import SettingsConfig

STATUS_ENABLED = "You are currently using the Customer Portal."
STATUS_DISABLED = "You are currently NOT using the Customer Portal."

_TRUE = frozenset({"true", "1", "on", "yes"})
_FALSE = frozenset({"false", "0", "off", "no"})


class SettingsUnavailable(Exception):
    """The store could not give a valid value; the message is `<masked source>: <why>`."""


@dataclass(frozen=True)
class Reading:
    """One good read: the setting, and when the store says it last changed (epoch seconds)."""

    enabled: bool
    changed_at: float | None = None


class SettingsSource(Protocol):
    """A settings store, read by the poller every TTL (never on the request path).

    `read` returns one `Reading` or raises `SettingsUnavailable("<description>: <why>")`, and
    nothing else: connection errors, driver errors and values that are not a flag all become
    SettingsUnavailable, with any password masked. `read` may be cancelled (the poller wraps it
    in `asyncio.timeout`) and must stay usable afterwards. `aclose` releases every connection,
    session or engine the source opened; reading after it is not required to work.
    """

    description: str  # the source URL with any password masked

    async def read(self) -> Reading: ...

    async def aclose(self) -> None: ...


def parse_flag(value: object, where: str = "value") -> bool:
    """The flag values a store may hold: true/1/"true"/"on"/"yes" and false/0/"false"/"off"/"no".

    SECURITY: anything else (null, "", 2, "disabled", an HTML page) is a read error, never a
    state: a value that merely looks false to Python must not be taken for a decision.
    """
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            raise SettingsUnavailable(f"{where}: not UTF-8 text") from None
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    raise SettingsUnavailable(f"{where}: expected true/false, 1/0, on/off or yes/no, got {shown}")


# A store's clock may run ahead of ours a little, never by a day; nothing is dated past 9999.
MAX_AHEAD = 24 * 3600.0
YEAR_10000 = 253_402_300_800.0  # 10000-01-01T00:00:00Z


def check_change_time(
    seconds: float, where: str, now: float | None = None, shown: object = None
) -> float:
    """`seconds` (epoch) if it can be the moment the setting changed, else SettingsUnavailable.

    SECURITY: the change time dates the last disable, and sessions from before it are refused.
    NaN compares false with everything and infinity or a far-future time is never "before"
    any session, so either would erase the record of a disable: they are read errors, never
    values. `now` is the wall clock (time.time() unless the caller has its own).
    """
    value = seconds if shown is None else shown
    if not math.isfinite(seconds):
        raise SettingsUnavailable(f"{where}: change time {value!r} is not a finite number")
    if seconds < 0:
        raise SettingsUnavailable(f"{where}: change time {value!r} is before 1970")
    if seconds >= YEAR_10000:
        raise SettingsUnavailable(f"{where}: change time {value!r} is beyond the year 9999")
    if seconds > (time.time() if now is None else now) + MAX_AHEAD:
        raise SettingsUnavailable(
            f"{where}: change time {value!r} is more than a day ahead of this clock"
        )
    return seconds


Factory = Callable[[SettingsConfig], SettingsSource]

# scheme -> module defining `create(cfg)`: a new store is one new module and one line here.
# SECURITY: only real stores are listed; test fakes (gateway.testing) are injected as objects.
REGISTRY: dict[str, str] = {
    "http": "gateway.settings.http",
    "https": "gateway.settings.http",
    "file": "gateway.settings.file",
    "sqlite": "gateway.settings.sql",
    "postgresql": "gateway.settings.sql",
    "mysql": "gateway.settings.sql",
    "redis": "gateway.settings.redis",
}


def make_source(cfg: SettingsConfig) -> SettingsSource:
    """The source for `cfg.source`, chosen by URL scheme (`postgresql+asyncpg` counts as
    `postgresql`). Nothing connects here: the first `read` does. ValueError for an unknown
    scheme (the config loader rejects those first, with the file and line)."""
    scheme = cfg.source.split(":", 1)[0].split("+", 1)[0].lower() if ":" in cfg.source else ""
    if scheme not in REGISTRY:
        known = ", ".join(f"{name}://" for name in REGISTRY)
        raise ValueError(f"unsupported settings source scheme {scheme!r}; expected one of {known}")
    module = importlib.import_module(REGISTRY[scheme])
    factory: Factory = module.create
    return factory(cfg)
