"""The operator controls laid over the store policy's decision, for one poller.

The poller asks `effective_state`/`effective_cause` (gateway/settings/policy.py) what the store
says; `Overlay.publish` ranks that against the timed override and the schedule
(gateway/settings/ranking.py) and writes the outcome into the `PortalState` the gate reads.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from gateway.config import Window
from gateway.settings.control import Control, Override
from gateway.settings.controlfeed import ControlFeed
from gateway.settings.policy import Cause
from gateway.settings.ranking import (
    control_disable_moment,
    last_control_end,
    live_override,
    next_boundary,
    off_by_control,
    rank,
    window_at,
)
from gateway.settings.state import PortalState

log = logging.getLogger("gateway.settings")


class Overlay:
    """The control file's override (read by `refresh`, once per TTL) and the windows."""

    def __init__(
        self, override_file: str | None, schedule: Sequence[Window] = (), timeout: float = 1.5
    ) -> None:
        self.schedule = tuple(schedule)  # customer_portal.schedule; reassigned on a reload
        self.feed = ControlFeed(override_file, timeout)
        self._override: Override | None = None  # the file's, live or not
        self._off = False  # whether the portal is off because of a control now

    async def refresh(self, state: PortalState, clock_now: float) -> None:
        """Read the control file (never raises: a bug here leaves the store deciding)."""
        try:
            self._take(state, await self.feed.read(clock_now))
        except Exception:
            log.exception("control file %s could not be applied", self.feed.path)

    def _take(self, state: PortalState, control: Control) -> None:
        self._override = control.override
        state.preview_generation = control.preview_generation

    def next_boundary(self, now: float) -> float | None:
        return next_boundary(self.schedule, live_override(self._override, now), now)

    def publish(self, state: PortalState, enabled: bool, cause: Cause, now: float) -> bool:
        """Publish the ranked state at wall time `now`; True when the last disable moved."""
        override = live_override(self._override, now)  # an expired one is gone by itself
        verdict = rank(
            enabled,
            cause,
            store_value=state.store_value,
            store_message=state.store_message,
            override=override,
            window=(window := window_at(self.schedule, now)),
        )
        off = off_by_control(verdict)
        moment = control_disable_moment(self._off, off, now)
        self._off = off
        ended = last_control_end(self.schedule, self._override, now)
        if ended is not None and ended > (state.last_disabled_at or 0.0):
            moment = max(moment or 0.0, ended)
        if moment is not None:
            # SECURITY: a scheduled or override disable (its start, and its end) moves the
            # record of the last disable exactly as a store disable does.
            state.last_disabled_at = max(state.last_disabled_at or 0.0, moment)
        state.override = override
        state.message, state.retry_at = verdict.message, verdict.retry_at
        # A window's return time is shown in the offset its `to` was written in; else UTC.
        shown_in = window.offset if window is not None and verdict.cause == "schedule" else None
        state.retry_offset = None if shown_in is None else timedelta(seconds=shown_in)
        state.update(verdict.enabled, verdict.cause)
        return moment is not None
