"""A failing store as the log tells it: once at the start, at most once a minute while it
lasts (with the count since), and once when it clears. The clock is the caller's."""

from __future__ import annotations

import logging

log = logging.getLogger("gateway.settings")

# While the store keeps failing, the error is logged again at most this often (seconds), with
# the count of failed reads since the last line: a store down for an hour is 60 lines, not
# 1,800, and not one line and then silence.
REPEAT_EVERY = 60.0


class Outage:
    """One store's read failures; `failing` is what the on_error policy reads."""

    def __init__(self, source: str, on_error: str, every: float = REPEAT_EVERY) -> None:
        self.source = source
        self.on_error = on_error
        self.every = every
        self.failing = False
        self._failures = 0  # failed reads in this outage
        self._unreported = 0  # failed reads since the last line
        self._since = self._reported_at = 0.0

    def failed(self, why: str, now: float) -> None:
        """A read failed at `now` with `why` (the masked message)."""
        if not self.failing:
            self.failing = True
            self._failures = self._unreported = 0
            self._since = self._reported_at = now
            log.error("settings read failed: %s (on_error: %s)", why, self.on_error)
        else:
            self._unreported += 1
            if now - self._reported_at >= self.every:
                log.error(
                    "settings read still failing: %s (%d failed reads in the last %.0fs; "
                    "on_error: %s)",
                    why,
                    self._unreported,
                    now - self._reported_at,
                    self.on_error,
                )
                self._unreported, self._reported_at = 0, now
        self._failures += 1

    def succeeded(self, now: float) -> None:
        """A read succeeded at `now`: one line if that ends an outage."""
        if self.failing:
            log.warning(
                "settings store readable again (%s) after %d failed reads over %.0fs",
                self.source,
                self._failures,
                now - self._since,
            )
        self.failing = False
