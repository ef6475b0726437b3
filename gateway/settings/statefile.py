"""The small state file that carries the last-known value and the last disable across restarts."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

from gateway.settings.atomic import write_atomically

log = logging.getLogger("gateway.settings")


@dataclass(frozen=True)
class SavedState:
    enabled: bool
    last_disabled_at: float | None
    last_success_at: float


def load_state(path: str) -> SavedState | None:
    """The saved state, or None when the file is missing or unreadable (logged, never fatal)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        disabled_at = data.get("last_disabled_at")
        state = SavedState(
            enabled=data["enabled"],
            last_disabled_at=None if disabled_at is None else float(disabled_at),
            last_success_at=float(data["last_success_at"]),
        )
        if not isinstance(state.enabled, bool):
            raise TypeError("enabled is not a boolean")
        # SECURITY: a NaN or infinite moment compares false with every session stamp, so it
        # would pass for "no disable"; such a file is as unreadable as garbage.
        times = (state.last_success_at, state.last_disabled_at or 0.0)
        if not all(math.isfinite(t) for t in times):
            raise ValueError("a time is not a finite number")
        return state
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("ignoring unreadable state file %s: %s", path, exc)
        return None


def save_state(path: str, state: SavedState) -> None:
    """Write atomically: a temporary file in the same directory, fsynced, then renamed over."""
    payload = json.dumps(
        {
            "enabled": state.enabled,
            "last_disabled_at": state.last_disabled_at,
            "last_success_at": state.last_success_at,
        }
    )
    write_atomically(path, payload)


class StateWriter:
    """Writes the state file on a worker thread (fsync must not stall the event loop).

    Writes run one at a time, in the order asked, each waiting for the one before: two
    threads never race on the same file, and the last answer written is the newest. A write
    that fails is logged and dropped, never raised: the state file is an aid after a restart,
    not a reason to stop reading the store.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._last: asyncio.Task[None] | None = None

    def submit(self, state: SavedState) -> None:
        """Queue `state` behind any write in flight; returns at once (see `flush`)."""
        self._last = asyncio.create_task(self._write(self._last, state), name="settings-state-file")

    async def flush(self) -> None:
        """Wait until every write submitted so far is on disk or has failed (and been logged).

        A caller cancelled while waiting does not cancel the writes: they still complete.
        """
        if self._last is not None:
            await asyncio.shield(self._last)

    async def _write(self, before: asyncio.Task[None] | None, state: SavedState) -> None:
        if before is not None:
            await before  # never raises: every write catches its own failure
        try:
            await asyncio.to_thread(save_state, self.path, state)
        except Exception as exc:  # logged: the poller must go on
            log.error("cannot write state file %s: %s", self.path, exc)
