"""The control file as one gateway reads it: once per TTL, off the loop, refusals logged.

A control file that is group- or world-writable, unreadable or not a control file is refused
as a whole: its override is ignored (the store decides) and the preview generation stays the
last good one (it never goes back: links revoked stay revoked); before any good read, no
preview link passes at all. The refusal is logged once, then at most once a minute while it
lasts, and once when a good file is back. Each override is written to the log (the audit line:
who, when, why, until) the first time this process sees it.
"""

from __future__ import annotations

import asyncio
import logging

from gateway.settings.control import Control, ControlRefused, Override, load_control
from gateway.settings.outage import REPEAT_EVERY
from gateway.wire.values import rfc3339

log = logging.getLogger("gateway.settings")

# A generation no preview link carries (a token's field holds at most 9 digits): served while
# this process has never read a good control file, so no link passes until it has.
UNREAD_GENERATION = 10**9


def audit_line(override: Override) -> str:
    """`override disable by alice at <when> until <until>: <reason>` (the message too)."""
    line = (
        f"override {override.action} by {override.by or '?'} at {rfc3339(override.at)} "
        f"until {rfc3339(override.until)}: {override.reason}"
    )
    return line + (f" (message: {override.message})" if override.message else "")


def _load(path: str) -> Control | ControlRefused:
    try:
        return load_control(path)
    except ControlRefused as exc:
        return exc


class ControlFeed:
    """One gateway's reads of `path`; `read(now)` on the loop, the file read on a thread."""

    def __init__(self, path: str | None, timeout: float = 1.5, every: float = REPEAT_EVERY) -> None:
        self.path = path
        self.timeout = timeout
        self.every = every
        self.control = Control()
        self.error: str | None = None  # why the file is refused now, if it is
        self._reported_at = 0.0
        self._refusals = 0
        self._seen: Override | None = None
        self._good: int | None = None  # the highest generation of a good read, if any yet

    async def read(self, now: float) -> Control:
        """The control to apply: the file's, or, refused, no override and the last good
        generation. `now` is the poller's monotonic clock (for the log's rate)."""
        if self.path is None:
            return self.control
        try:
            # SECURITY: read on a worker thread: a slow or hung volume never stalls requests.
            async with asyncio.timeout(self.timeout):
                found = await asyncio.to_thread(_load, self.path)
        except TimeoutError:
            found = ControlRefused(f"{self.path}: no answer within {self.timeout:g}s")
        return self._apply(found, now)

    def _apply(self, found: Control | ControlRefused, now: float) -> Control:
        assert self.path is not None
        if isinstance(found, ControlRefused):
            self._refused(str(found), now)
            # SECURITY: the whole file is ignored: its override cannot switch the portal on or
            # off; the generation never goes back, so revoked preview links stay revoked, and
            # before any good read (a restart) no link passes: generation 0 would revive them.
            generation = UNREAD_GENERATION if self._good is None else self._good
            self.control = Control(None, generation)
            return self.control
        if self.error is not None:
            log.warning("control file %s accepted again: %s", self.path, "its override applies")
            self.error = None
        self._audit(found.override)
        self._good = max(found.preview_generation, self._good or 0)
        self.control = Control(found.override, self._good)
        return self.control

    def _refused(self, why: str, now: float) -> None:
        if self.error is None or now - self._reported_at >= self.every:
            repeated = f" ({self._refusals} reads since)" if self.error is not None else ""
            log.error("control file refused, ignoring it: %s%s", why, repeated)
            self._reported_at, self._refusals = now, 0
        else:
            self._refusals += 1
        self.error = why

    def _audit(self, override: Override | None) -> None:
        if override == self._seen:
            return
        if override is not None:
            log.warning("%s", audit_line(override))
        elif self._seen is not None:
            log.warning("override %s cleared (by %s)", self._seen.action, "the control file")
        self._seen = override
