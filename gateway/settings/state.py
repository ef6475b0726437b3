"""What the gate reads on every request: the effective state, written only by the poller."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from gateway.settings.control import Override
from gateway.settings.policy import Cause

log = logging.getLogger("gateway.settings")


class PortalState:
    """What the gate reads on every request; never awaits, never touches the store.

    Besides the effective state and its `cause`, what ops need to tell the causes apart, all
    written by the poller (times are wall-clock epoch seconds): `store_value`, the store's
    last good answer (or the state file's, after a restart; None before either) and
    `store_changed_at`, when the store says it last changed (None when it does not say);
    `last_read_at`, when the last read attempt finished, and `last_success_at`, the last
    good one; `last_error`, the failing read's message (None once one succeeds);
    `last_disabled_at`, the latest moment the portal is known to have been off.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self._enabled = False
        self._cause: Cause = "cold_start"
        self._ready = False
        self.store_value: bool | None = None
        self.store_changed_at: float | None = None
        self.last_read_at: float | None = None
        self.last_disabled_at: float | None = None
        self.last_error: str | None = None
        self.last_success_at: float | None = None
        # The operator controls (gateway/settings/control.py), read by the poller each TTL.
        self.override: Override | None = None
        self.preview_generation = 0
        # The store's note for customers (Reading.message), and what the page shows now: the
        # note of the strongest cause (schedule, override, store) and the expected return.
        self.store_message: str | None = None
        self.message: str | None = None
        self.retry_at: float | None = None
        # The offset the return time is shown in (a schedule's own, as written); None: UTC.
        self.retry_offset: timedelta | None = None
        self._subscribers: list[Callable[[bool], None]] = []

    @property
    def enabled(self) -> bool:
        """The effective state for customers, after the on_error/cold_start/max_stale policy."""
        # SECURITY: read-only from outside; only the poller's policy decides it.
        return self._enabled

    @property
    def cause(self) -> Cause:
        """Why `enabled` is what it is (gateway.settings.policy.effective_cause)."""
        return self._cause

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

    def update(self, enabled: bool, cause: Cause = "store") -> None:
        """Publish the effective state and its cause; subscribers hear a flip of the state.

        The poller is the only writer: the gate and the admin pages only read. A flip is a
        WARNING naming the cause; a new cause under the same state an INFO line.
        """
        word = "enabled" if enabled else "disabled"
        if enabled == self._enabled:
            if cause != self._cause:
                self._cause = cause
                log.info(
                    "customer portal still %s, cause now %s (source %s)", word, cause, self.source
                )
            return
        self._enabled, self._cause = enabled, cause
        log.warning("customer portal %s, cause %s (source %s)", word, cause, self.source)
        for callback in list(self._subscribers):
            try:
                callback(enabled)
            except Exception:
                log.exception("customer portal state subscriber failed")
