"""Where staff's "Enable Customer Portal" is read: one small module per store, by URL scheme."""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from gateway.config import Finding, SettingsConfig, yaml_keys
from gateway.settings.options import Schema

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
    # Staff's optional note for customers (settings.message_field, a third SQL column, the
    # `<key>:message` Redis key); shown under the sentence on the unavailable page.
    message: str | None = None


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

# scheme -> module defining `SCHEMA` (its options; see options.py) and `create(cfg)`: a new
# store is one new module and one line here. A store module imports its database or Redis
# driver only in `create`, so checking a config never needs the driver.
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


def base_scheme(source: str) -> str:
    """`postgresql+asyncpg://...` -> `postgresql`; no scheme -> ''."""
    return source.split(":", 1)[0].split("+", 1)[0].lower() if ":" in source else ""


def schema(scheme: str) -> Schema:
    found: Schema = importlib.import_module(REGISTRY[scheme]).SCHEMA
    return found


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent that fails to import; a spec-less module
        return False


def check_options(cfg: SettingsConfig, scheme: str | None = None) -> list[Finding]:
    """The findings of the store `cfg.source` names about `cfg.options` and its driver.

    Unknown keys get a did-you-mean; another store's key says which stores use it; a missing
    required option, a non-string value, a driver whose extra is not installed and a config
    that forgets the last disable on a restart (a warning) are each located.
    """
    scheme = base_scheme(cfg.source) if scheme is None else scheme
    declared: dict[str, list[str]] = {}
    for name in REGISTRY:
        for key in schema(name).names():
            declared.setdefault(key, []).append(name)
    out: list[Finding] = []
    known = [*yaml_keys(SettingsConfig), *declared]
    for key in cfg.options:
        if key not in declared:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            out.append(Finding(cfg.line(key), f"settings.{key}", f"unknown key{hint}"))
    if scheme not in REGISTRY:
        return out
    own = schema(scheme)
    for key in cfg.options:
        if key in declared and key not in own.names():
            users = "/".join(declared[key])
            out.append(Finding(cfg.line(key), f"settings.{key}", f"only used by {users} sources"))
    for option in own.options:
        value = cfg.options.get(option.name)
        if value is None and option.required:
            out.append(
                Finding(
                    cfg.line(SettingsConfig.SECTION),
                    f"settings.{option.name}",
                    f"required for {scheme}:// sources{option.example}",
                )
            )
        elif value is not None and not isinstance(value, str):
            out.append(
                Finding(
                    cfg.line(option.name),
                    f"settings.{option.name}",
                    f"expected {option.expected}, got {value!r}",
                )
            )
    driver = own.drivers.get(scheme)
    if driver is not None and not all(_installed(m) for m in driver.modules):
        out.append(
            Finding(cfg.line("source"), "settings.source", f"needs portal-gateway[{driver.extra}]")
        )
    forgets = forgets_last_disable(cfg)
    if forgets is not None:
        out.append(Finding(cfg.line(SettingsConfig.HEADER), "settings", forgets, warning=True))
    return out


def forgets_last_disable(cfg: SettingsConfig) -> str | None:
    """Why, as far as the config shows, a restart would forget the last disable; else None
    (also None for a store that tells only at its first read, such as Redis)."""
    scheme = base_scheme(cfg.source)
    own = schema(scheme) if scheme in REGISTRY else None
    return own.forgets(cfg) if own is not None and own.forgets is not None else None


class Sources:
    """The registry as the config loader asks it (a `gateway.config.SourceCatalog`)."""

    def check(self, settings: SettingsConfig) -> list[Finding]:
        scheme = settings.source.split(":", 1)[0].lower() if ":" in settings.source else ""
        if scheme not in REGISTRY:
            return [
                Finding(
                    settings.line("source"),
                    "settings.source",
                    f"unsupported scheme {scheme!r}; expected one of {', '.join(REGISTRY)}",
                ),
                *check_options(settings, scheme=""),  # unknown keys only
            ]
        return check_options(settings)


SOURCES = Sources()


def make_source(cfg: SettingsConfig) -> SettingsSource:
    """The source for `cfg.source`, chosen by URL scheme (`postgresql+asyncpg` counts as
    `postgresql`). Nothing connects here: the first `read` does. ValueError for an unknown
    scheme or options the store refuses (the config loader, given `SOURCES`, reports those
    first, with the file and line)."""
    scheme = base_scheme(cfg.source)
    if scheme not in REGISTRY:
        known = ", ".join(f"{name}://" for name in REGISTRY)
        raise ValueError(f"unsupported settings source scheme {scheme!r}; expected one of {known}")
    problems = [f"{f.key}: {f.message}" for f in check_options(cfg) if not f.warning]
    if problems:
        raise ValueError("; ".join(problems))
    module = importlib.import_module(REGISTRY[scheme])
    factory: Factory = module.create
    return factory(cfg)
