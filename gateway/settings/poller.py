"""The background poller: one read per TTL into a cachetools TTLCache; requests never wait.

The gate reads `PortalState.enabled`, a value computed after every read attempt (never on the
request path). Policy, in order:
  1. the last read failed and `on_error` forces a value -> that value;
  2. a good reading younger than `max_stale` is cached -> its value;
  3. no trusted value yet (nothing read, no fresh state file) -> `cold_start` (default
     disabled: fail closed for customers);
  4. the last good reading is older than `max_stale` -> disabled.
The TTLCache holds the last good reading for `max_stale` seconds (forever when unset) on the
monotonic clock; an entry restored from the state file is back-dated by its wall-clock age.
Readiness: the first read starts with the poller (no jitter) and `PortalState.ready` turns
True when it has finished, answered or failed (a read never outlives `timeout`); it never turns
False again, so a store outage later cannot take every replica, Office Portal included, out
of a load balancer.
SECURITY: no branch turns the portal on because of an error, except `on_error: enabled`,
which ops choose explicitly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable

from cachetools import TTLCache

from gateway import settings as registry
from gateway.config import SettingsConfig
from gateway.settings import Reading, SettingsSource, SettingsUnavailable, check_change_time
from gateway.settings.options import FORGETS
from gateway.settings.state import PortalState
from gateway.settings.statefile import SavedState, load_state, save_state

log = logging.getLogger("gateway.settings")

FOREVER = 10 * 365 * 24 * 3600.0
_KEY = "reading"


class Poller:
    """Owns the background task that reads the store every `ttl` seconds."""

    def __init__(
        self,
        source: SettingsSource,
        cfg: SettingsConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        jitter: Callable[[float], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.source = source
        self.cfg = cfg
        self.clock = clock
        self.wall = wall
        self.sleep = sleep
        self.jitter = jitter or (lambda ttl: random.uniform(0, min(ttl, 1.0)))
        self.state = PortalState(source.description)
        self._backdate = 0.0
        self._cache: TTLCache[str, Reading] = TTLCache(
            maxsize=1, ttl=cfg.max_stale or FOREVER, timer=lambda: self.clock() - self._backdate
        )
        # The last value this process knew (read, or restored from the state file even when
        # too old to serve): the baseline against which a disable is detected.
        self._previous: Reading | None = None
        self._trusted = False  # a good read, or a state file younger than max_stale
        self._restored_success_at: float | None = None
        self._failing = False
        self._inflight: asyncio.Task[None] | None = None
        self._first: asyncio.Task[None] | None = None
        self._warned_forgetful = False
        self._task: asyncio.Task[None] | None = None
        self.reads = 0

    # -- start-up ------------------------------------------------------------------------
    def _restore(self) -> None:
        if not self.cfg.state_file:
            return
        saved = load_state(self.cfg.state_file)
        if saved is None:
            return
        self.state.last_disabled_at = saved.last_disabled_at
        self.state.last_success_at = saved.last_success_at
        self._restored_success_at = saved.last_success_at
        reading = Reading(saved.enabled, None)
        self._previous = reading
        age = max(self.wall() - saved.last_success_at, 0.0)
        if self.cfg.max_stale is not None and age > self.cfg.max_stale:
            log.warning(
                "state file %s is older than max_stale (%.0fs); cold start policy applies",
                self.cfg.state_file,
                age,
            )
            return
        self._backdate = age  # the entry expires max_stale after the original read
        try:
            self._cache[_KEY] = reading
        finally:
            self._backdate = 0.0
        self._trusted = True

    async def start(self) -> None:
        """Apply the state file or cold-start policy now, start the first read at once (not
        awaited: the listener must answer readyz 503 meanwhile), then poll in the background."""
        if self._task is not None:
            return
        self._restore()
        self._recompute()
        self._first = self._begin_read()  # a refresh() from now on shares this first read
        self._task = asyncio.create_task(self._run(self._first), name="settings-poller")

    async def wait_ready(self) -> None:
        """Return once the first read has finished (answered, failed or timed out)."""
        if self._first is None:
            await self.refresh()
        else:
            await asyncio.shield(self._first)

    async def stop(self) -> None:
        """Cancel the background task and any read in flight, then close the source."""
        for task in (self._task, self._inflight):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._inflight = None
        await self.source.aclose()

    async def _run(self, first: asyncio.Task[None]) -> None:
        started = self.clock()
        await asyncio.shield(first)  # the first read, begun by start(): never delayed
        # Processes restarted together spread their later reads: the second one comes up to
        # `jitter` early (never late: a change is still seen within one TTL), then every TTL.
        early = min(self.jitter(self.cfg.ttl), self.cfg.ttl)
        await self.sleep(max(0.0, self.cfg.ttl - early - (self.clock() - started)))
        while True:
            started = self.clock()
            await self.refresh()
            await self.sleep(max(0.0, self.cfg.ttl - (self.clock() - started)))

    # -- one read ------------------------------------------------------------------------
    async def refresh(self) -> None:
        """One read now; concurrent callers share the read in flight. Never raises."""
        # A caller cancelled while waiting must not cancel the read the others share.
        await asyncio.shield(self._begin_read())

    def _begin_read(self) -> asyncio.Task[None]:
        # A finished read whose done-callback has not run yet is not "in flight": a caller
        # that just changed the store must get a new read, not the old answer.
        if self._inflight is None or self._inflight.done():
            task = asyncio.create_task(self._read_once(), name="settings-read")
            self._inflight = task

            def done(_: object) -> None:
                if self._inflight is task:
                    self._inflight = None

            task.add_done_callback(done)
        return self._inflight

    async def _read_once(self) -> None:
        self.reads += 1
        try:
            async with asyncio.timeout(self.cfg.timeout):
                reading = await self.source.read()
            if reading.changed_at is not None:
                # SECURITY: whatever the source: a change time that cannot date a disable
                # must not move (or erase) the record of one. Checked on our own wall clock.
                check_change_time(reading.changed_at, self.source.description, self.wall())
        except TimeoutError:
            self._failed(f"{self.source.description}: no answer within {self.cfg.timeout:g}s")
        except SettingsUnavailable as exc:
            self._failed(str(exc))
        except Exception as exc:  # a source bug must not kill the poller; no text: may leak
            self._failed(f"{self.source.description}: {type(exc).__name__}")
        else:
            self._succeeded(reading)
        self._recompute()
        # SECURITY: ready only now, after the policy above has seen this read's outcome.
        self.state._mark_ready()

    def _failed(self, why: str) -> None:
        if why != self.state.last_error:
            log.error("settings read failed: %s (on_error: %s)", why, self.cfg.on_error)
        self.state.last_error = why
        self._failing = True

    def _succeeded(self, reading: Reading) -> None:
        now = self.wall()
        previous = self._previous
        if self._failing:
            log.warning("settings store readable again (%s)", self.source.description)
        self._failing = False
        self.state.last_error = None
        self._warn_if_forgetful(reading)
        disabled_at = self._disable_moment(previous, reading, now)
        if disabled_at is not None:
            # SECURITY: every disable moves this forward; sessions stamped before it are stale.
            self.state.last_disabled_at = max(self.state.last_disabled_at or 0.0, disabled_at)
        self._cache[_KEY] = reading
        self._previous = reading
        self._trusted = True
        old_success = self.state.last_success_at
        self.state.last_success_at = now
        if (
            disabled_at is not None
            or previous is None
            or previous.enabled != reading.enabled
            or old_success is None
            or now - old_success > 60
        ):
            self._save()

    def _warn_if_forgetful(self, reading: Reading) -> None:
        # The config warns where it can tell (http/file, one-column SQL); a Redis store, or a
        # query whose second column is NULL, shows it only now.
        if (
            reading.changed_at is not None
            or self.cfg.state_file
            or self._warned_forgetful
            or registry.forgets_last_disable(self.cfg) is not None
        ):
            return
        self._warned_forgetful = True
        log.warning(
            "settings store %s gave no change time and settings.state_file is not set: %s",
            self.source.description,
            FORGETS,
        )

    def _disable_moment(
        self, previous: Reading | None, reading: Reading, now: float
    ) -> float | None:
        """The latest moment the portal is known to have been off, if this reading moves it.

        While disabled that is when the disable began; once re-enabled, when it ended: sessions
        that began before it are stale.
        """
        stamp = reading.changed_at if reading.changed_at is not None else now
        if not reading.enabled:
            if previous is None or previous.enabled or self.state.last_disabled_at is None:
                # SECURITY: a disable seen for the first time, even at the very first read,
                # invalidates every session from before it.
                return stamp
            if reading.changed_at is not None and reading.changed_at != previous.changed_at:
                return reading.changed_at  # off, on and off again between two polls
            return None  # still disabled, already recorded
        if previous is not None and not previous.enabled:
            # SECURITY: the disable ends here (at the store's change time when it has one). A
            # session that began before this moment began while the portal was off, even one
            # let in during the TTL before this process noticed the disable: it is stale too.
            return stamp
        if reading.changed_at is None:
            return None
        if previous is None:
            # SECURITY: first sight of the store, nothing remembered: the setting last changed
            # *to* enabled at changed_at, so it may have been off before then. Sessions older
            # than that cannot be told from ones that lived through a disable; they log in again.
            return reading.changed_at
        if previous.changed_at is None:
            # Restored from the state file: a change since our last good read means the portal
            # was switched off and on again while this process was not watching.
            restored = self._restored_success_at
            return (
                reading.changed_at
                if restored is not None and reading.changed_at > restored
                else None
            )
        if reading.changed_at > previous.changed_at and previous.enabled:
            # Disabled and re-enabled between two polls: a disable happened; honour it.
            return reading.changed_at
        return None

    def _recompute(self) -> None:
        reading = self._cache.get(_KEY)
        if self._failing and self.cfg.on_error != "last-known":
            # The only way an error can enable the portal: ops chose on_error: enabled.
            enabled = self.cfg.on_error == "enabled"
        elif reading is not None:
            enabled = reading.enabled
        elif not self._trusted:
            enabled = self.cfg.cold_start == "enabled"
        else:
            # SECURITY: the last good reading is older than max_stale: fail closed.
            enabled = False
        self.state._set(enabled)

    def _save(self) -> None:
        if not self.cfg.state_file or self.state.last_success_at is None or self._previous is None:
            return
        try:
            save_state(
                self.cfg.state_file,
                SavedState(
                    self._previous.enabled, self.state.last_disabled_at, self.state.last_success_at
                ),
            )
        except OSError as exc:
            log.error("cannot write state file %s: %s", self.cfg.state_file, exc)
