"""What the gate reads on every request: the effective state, written only by the poller."""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger("gateway.settings")


class PortalState:
    """What the gate reads on every request; never awaits, never touches the store."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._enabled = False
        self._ready = False
        self.last_disabled_at: float | None = None
        self.last_error: str | None = None
        self.last_success_at: float | None = None
        self._subscribers: list[Callable[[bool], None]] = []

    @property
    def enabled(self) -> bool:
        """The effective state for customers, after the on_error/cold_start/max_stale policy."""
        # SECURITY: read-only from outside; only the poller's policy decides it.
        return self._enabled

    @property
    def ready(self) -> bool:
        """True once the first read attempt finished (a value, an error or the timeout).

        Before that the state file or cold-start value is served, but a load balancer should
        not send customers here yet: the store may well say something else a moment later.
        """
        return self._ready

    def mark_ready(self) -> None:
        """The first read attempt has finished; ready from now on, never unready again."""
        if not self._ready:
            self._ready = True
            log.info("ready: first settings read finished (source %s)", self.source)

    def subscribe(self, callback: Callable[[bool], None]) -> Callable[[], None]:
        """`callback(enabled)` runs on the loop whenever the effective state flips.

        Returns a function that unsubscribes (calling it twice is harmless).
        """
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def update(self, enabled: bool) -> None:
        """Publish the effective state the poller's policy computed; subscribers hear a flip.

        The poller is the only writer: the gate and the admin pages only read.
        """
        if enabled == self._enabled:
            return
        self._enabled = enabled
        log.warning(
            "customer portal %s (source %s)", "enabled" if enabled else "disabled", self.source
        )
        for callback in list(self._subscribers):
            try:
                callback(enabled)
            except Exception:
                log.exception("customer portal state subscriber failed")
