"""The operators' control file: a timed override and the preview-link generation.

Written only by the command line (`portal-gateway override ...`, `preview-link --revoke-all`),
atomically; read by every gateway once per TTL. One host, or a volume every replica mounts.

The file is JSON:

    {"version": 1,
     "override": {"action": "disable", "until": 1767225600.0, "reason": "billing run",
                  "message": "Back after the billing run", "by": "alice", "at": 1767222000.0},
     "preview_generation": 3}

`override` is null when none is set; times are epoch seconds. A preview link carries the
generation it was issued under; `--revoke-all` bumps the generation, and every link issued
before stops working.
"""

from __future__ import annotations

import json
import math
import os
import stat
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from gateway.settings.atomic import write_atomically

FILE_NAME = "portal-gateway-control.json"
VERSION = 1
# 9999-12-31T23:59:59Z: the last moment an audit line, `status` or /_gateway/state can show.
LAST_MOMENT = 253402300799.0

Action = Literal["disable", "enable"]


class ControlRefused(Exception):
    """The control file cannot be trusted or read; the message says why (path first)."""


@dataclass(frozen=True)
class Override:
    """An operator's timed override of the store's value."""

    action: Action
    until: float  # epoch seconds: the override ends by itself then
    reason: str
    message: str | None = None  # shown on the unavailable page (disable only)
    by: str = ""  # the OS user who set it
    at: float = 0.0  # when it was set

    def active(self, now: float) -> bool:
        return now < self.until


@dataclass(frozen=True)
class Control:
    override: Override | None = None
    preview_generation: int = 0

    def with_override(self, override: Override | None) -> Control:
        return replace(self, override=override)

    def revoked(self) -> Control:
        """Every preview link issued so far stops working."""
        return replace(self, preview_generation=self.preview_generation + 1)


def default_path(config_file: str) -> str:
    """`<directory of the config file>/portal-gateway-control.json`."""
    return str(Path(config_file).resolve().parent / FILE_NAME)


def load_control(path: str) -> Control:
    """The control file's content; an empty `Control()` when the file does not exist.

    Raises ControlRefused for a file anyone but its owner may write (group- or world-writable:
    whoever can write it could switch the portal on through a store outage, or revive revoked
    preview links) and for one that is not a valid control file.
    """
    try:
        # SECURITY: no symlink followed, and O_NONBLOCK: a FIFO put in the file's place must
        # not hang the reader (every gateway's thread, the CLI) until someone writes to it.
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(path, flags)
    except FileNotFoundError:
        return Control()
    except OSError as exc:
        raise ControlRefused(f"{path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise ControlRefused(f"{path}: not a regular file; refusing it")
        # SECURITY: checked on the open descriptor, so the file judged is the file read.
        if mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise ControlRefused(
                f"{path}: group- or world-writable (mode {stat.S_IMODE(mode):o}); "
                "refusing it (chmod go-w)"
            )
        raw = handle.read(1 << 20)
    try:
        return _parse(json.loads(raw.decode("utf-8")))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ControlRefused(f"{path}: not a valid control file ({exc})") from None


def _finite(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{what} is not a number")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{what} is not finite")
    if not 0.0 <= number <= LAST_MOMENT:
        # A time no calendar shows would break every line that reports the override.
        raise ValueError(f"{what} is not between 1970 and 9999")
    return number


def _parse(data: object) -> Control:
    if not isinstance(data, dict):
        raise TypeError("not a JSON object")
    if data.get("version") != VERSION:
        raise ValueError(f"version is not {VERSION}")
    generation = data.get("preview_generation", 0)
    if isinstance(generation, bool) or not isinstance(generation, int) or generation < 0:
        raise TypeError("preview_generation is not a whole number")
    raw = data.get("override")
    override = None
    if raw is not None:
        if not isinstance(raw, dict):
            raise TypeError("override is not an object")
        action = raw["action"]
        if action not in ("disable", "enable"):
            raise ValueError("override.action is not disable or enable")
        message = raw.get("message")
        if message is not None and not isinstance(message, str):
            raise TypeError("override.message is not text")
        if not isinstance(raw.get("reason", ""), str) or not isinstance(raw.get("by", ""), str):
            raise TypeError("override.reason and override.by must be text")
        override = Override(
            action=action,
            until=_finite(raw["until"], "override.until"),
            reason=raw.get("reason", ""),
            message=message,
            by=raw.get("by", ""),
            at=_finite(raw.get("at", 0.0), "override.at"),
        )
    return Control(override=override, preview_generation=generation)


def _dump(control: Control) -> str:
    override = control.override
    return json.dumps(
        {
            "version": VERSION,
            "override": None
            if override is None
            else {
                "action": override.action,
                "until": override.until,
                "reason": override.reason,
                "message": override.message,
                "by": override.by,
                "at": override.at,
            },
            "preview_generation": control.preview_generation,
        },
        indent=2,
    )


def save_control(path: str, control: Control) -> None:
    """Write atomically (a temporary file in the same directory, fsynced, renamed over), mode
    0644: readable by gateways running as another user, writable only by its owner."""
    write_atomically(path, _dump(control) + "\n", 0o644)
