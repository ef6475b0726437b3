"""Fakes shipped for tests: objects a test injects, never selectable from YAML.

SECURITY: a kill switch that never switches must not be configurable, so no URL scheme
reaches `MemorySource`; a test builds one and hands it to `Poller` (or the test fixtures).
"""

from __future__ import annotations

import asyncio

from gateway.settings import Reading, SettingsUnavailable, parse_flag


class MemorySource:
    """A settable store: `set(value)`, `fail(message)`, `hang()`; `reads` counts every read.

    Values go through `parse_flag` like any store's, so garbage is a read error here too.
    """

    description = "memory://"

    def __init__(self, value: object = True, changed_at: float | None = None) -> None:
        self.value = value
        self.changed_at = changed_at
        self.message: str | None = None  # staff's note, as a store's message field holds it
        self.error: str | None = None
        self.reads = 0
        self._resume = asyncio.Event()
        self._resume.set()

    def set(self, value: object, changed_at: float | None = None) -> None:
        self.value, self.changed_at, self.error = value, changed_at, None
        self._resume.set()

    def fail(self, message: str) -> None:
        self.error = message
        self._resume.set()

    def hang(self) -> None:
        """Reads wait (until the poller's timeout) until the next `set` or `fail`."""
        self._resume.clear()

    async def read(self) -> Reading:
        self.reads += 1
        await self._resume.wait()
        if self.error is not None:
            raise SettingsUnavailable(f"memory://: {self.error}")
        return Reading(parse_flag(self.value, "memory://"), self.changed_at, self.message)

    async def aclose(self) -> None:
        return None
