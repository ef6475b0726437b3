"""How a store declares its own `settings:` keys, and the checks the registry runs on them.

A store module (http.py, sql.py, ...) names its options in `SCHEMA`; the registry
(`gateway.settings.SOURCES`) checks a config's options against the schema of the store its
`source` names, at load time, without importing any database or Redis driver.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from gateway.config import SettingsConfig


@dataclass(frozen=True)
class Option:
    """One store-specific key: `settings.<name>`, a string."""

    name: str
    expected: str  # what the error says it expected: "a dotted field name"
    required: bool = False
    example: str = ""  # shown after "required for X:// sources", e.g. " (e.g. enabled)"


@dataclass(frozen=True)
class Driver:
    """What a scheme needs installed: the modules its driver brings, and the extra that does."""

    modules: tuple[str, ...]
    extra: str


@dataclass(frozen=True)
class Schema:
    """A store's options, the drivers of its schemes, and what its config forgets."""

    options: tuple[Option, ...] = ()
    drivers: Mapping[str, Driver] = field(default_factory=dict)
    # Why, as far as the config shows, a restart would forget the last disable (or None).
    forgets: Callable[[SettingsConfig], str | None] | None = None

    def names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.options)


def text(cfg: SettingsConfig, name: str, default: str | None = None) -> str | None:
    """A string option as the store reads it (the registry has checked its type)."""
    value = cfg.options.get(name)
    return value if isinstance(value, str) else default


FORGETS = (
    "a restart forgets the last disable, so sessions from before a disable that happened "
    "before the restart would be resumed"
)


def forgets_without_change_time(cfg: SettingsConfig) -> str | None:
    """http and file stores: a change time only with `changed_at_field`."""
    if cfg.state_file or text(cfg, "changed_at_field"):
        return None
    return f"neither settings.changed_at_field nor settings.state_file is set: {FORGETS}"


def select_columns(query: str) -> int | None:
    """How many columns `SELECT a, b FROM ...` returns, when that is plain to see."""
    m = re.match(r"(?is)^\s*select\s+(.*?)(?:\s+from\s.*)?;?\s*$", query)
    if m is None or m.group(1).strip().startswith("*"):
        return None
    depth, columns, quote = 0, 1, ""
    for ch in m.group(1):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"`":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            columns += 1
    return columns


def forgets_without_second_column(cfg: SettingsConfig) -> str | None:
    """SQL stores: a change time only from the query's second column."""
    if cfg.state_file or select_columns(text(cfg, "query") or "") != 1:
        return None
    return (
        "the query returns no change time (a second column) and settings.state_file is "
        f"not set: {FORGETS}"
    )
