"""The background poller: one read per TTL; requests never wait, never touch the store.

This module is the task only: when to read, single-flight refreshes, timeouts and stop. What a
read means is decided in `gateway.settings.policy` (pure functions with truth tables): the
effective state after every attempt (on_error / cold_start / max_stale), whether a reading
moves the record of the last disable, and when to rewrite the state file. `PortalState` is
what the gate reads; the state file is written on a worker thread by `StateWriter`.

Readiness: the first read starts with the poller (no jitter) and `PortalState.ready` turns
True when it has finished, answered or failed (a read never outlives `timeout`); it never turns
False again, so a store outage later cannot take every replica, Office Portal included, out
of a load balancer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable

from cachetools import TLRUCache

from gateway import settings as registry
from gateway.config import SettingsConfig
from gateway.settings import Reading, SettingsSource, SettingsUnavailable, check_change_time
from gateway.settings.options import FORGETS
from gateway.settings.outage import Outage
from gateway.settings.policy import (
    Known,
    disable_moment,
    effective_cause,
    effective_state,
    expires_at,
    restored_is_trusted,
    should_save,
)
from gateway.settings.state import PortalState
from gateway.settings.statefile import SavedState, StateWriter, load_state

log = logging.getLogger("gateway.settings")

_KNOWN = "known"


class Poller:
    """Owns the background task that reads the store every `ttl` seconds.

    `clock` is monotonic (ages and schedules), `wall` the epoch clock (disable moments and the
    state file); both are injectable, like `jitter` and `sleep`, for tests.
    """

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
        # The value served while the store cannot be read, with its read time: a TLRU cache
        # entry that expires `max_stale` after that read (policy.expires_at), so a restored
        # value ages from its original read. Empty and never filled: the cold-start policy.
        self._known: TLRUCache[str, Known] = TLRUCache(
            maxsize=1, ttu=lambda _key, known, _now: expires_at(known, cfg.max_stale), timer=clock
        )
        self._trusted = False
        # The last value this process knew (read, or restored from the state file even when
        # too old to serve): the baseline against which a disable is detected.
        self._previous: Reading | None = None
        self._restored_success_at: float | None = None
        # Whether the last read failed, and the log of the outage (rate-limited, on `clock`).
        self._outage = Outage(source.description, cfg.on_error)
        self._writer = StateWriter(cfg.state_file) if cfg.state_file else None
        self._inflight: asyncio.Task[None] | None = None
        self._first: asyncio.Task[None] | None = None
        self._warned_forgetful = False
        self._task: asyncio.Task[None] | None = None
        self.reads = 0
        # Told each read's result, `ok`, `error` or `timeout`, once its outcome is published
        # (the metrics' hook: this layer imports no metrics library).
        self.read_hooks: list[Callable[[str], None]] = []

    # -- start-up and shutdown -----------------------------------------------------------
    def _restore(self) -> None:
        if not self.cfg.state_file:
            return
        saved = load_state(self.cfg.state_file)
        if saved is None:
            return
        self.state.last_disabled_at = saved.last_disabled_at
        self.state.last_success_at = saved.last_success_at
        self.state.store_value = saved.enabled  # the store's last answer, as the file kept it
        self._restored_success_at = saved.last_success_at
        self._previous = Reading(saved.enabled, None)
        age = max(self.wall() - saved.last_success_at, 0.0)
        if not restored_is_trusted(age, self.cfg.max_stale):
            log.warning(
                "state file %s is older than max_stale (%.0fs); cold start policy applies",
                self.cfg.state_file,
                age,
            )
            return
        # The restored value ages from the original read, not from this restart.
        self._trust(Known(saved.enabled, read_at=self.clock() - age))

    async def start(self) -> None:
        """Apply the state file or cold-start policy now, start the first read at once (not
        awaited: the listener must answer readyz 503 meanwhile), then poll in the background."""
        if self._task is not None:
            return
        self._restore()
        self._publish()
        self._first = self._begin_read()  # a refresh() from now on shares this first read
        self._task = asyncio.create_task(self._run(self._first), name="settings-poller")

    async def wait_ready(self) -> None:
        """Return once the first read has finished (answered, failed or timed out)."""
        if self._first is None:
            await self.refresh()
        else:
            await asyncio.shield(self._first)

    async def stop(self) -> None:
        """Cancel the background task and any read in flight, let a state-file write finish,
        then close the source."""
        for task in (self._task, self._inflight):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._inflight = None
        if self._writer is not None:
            await self._writer.flush()
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
        """One read now; concurrent callers share the read in flight. Never raises.

        Returns once the outcome is published and any state-file write it caused is done.
        """
        # A caller cancelled while waiting must not cancel the read the others share.
        await asyncio.shield(self._begin_read())
        if self._writer is not None:
            await self._writer.flush()

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
        result = "error"
        try:
            async with asyncio.timeout(self.cfg.timeout):
                reading = await self.source.read()
            if reading.changed_at is not None:
                # SECURITY: whatever the source: a change time that cannot date a disable
                # must not move (or erase) the record of one. Checked on our own wall clock.
                check_change_time(reading.changed_at, self.source.description, self.wall())
        except TimeoutError:
            result = "timeout"
            self._failed(f"{self.source.description}: no answer within {self.cfg.timeout:g}s")
        except SettingsUnavailable as exc:
            self._failed(str(exc))
        except Exception as exc:  # a source bug must not kill the poller; no text: may leak
            self._failed(f"{self.source.description}: {type(exc).__name__}")
        else:
            result = "ok"
            self._succeeded(reading)
        self.state.last_read_at = self.wall()
        self._publish()
        # SECURITY: ready only now, after the policy above has seen this read's outcome.
        self.state.mark_ready()
        for hook in list(self.read_hooks):
            try:
                hook(result)
            except Exception:  # a broken hook must not stop the reads
                log.exception("settings read hook failed")

    def _failed(self, why: str) -> None:
        self._outage.failed(why, self.clock())
        self.state.last_error = why

    def _succeeded(self, reading: Reading) -> None:
        now = self.wall()
        previous = self._previous
        self._outage.succeeded(self.clock())
        self.state.last_error = None
        self.state.store_value, self.state.store_changed_at = reading.enabled, reading.changed_at
        self.state.store_message = reading.message
        self._warn_if_forgetful(reading)
        disabled_at = disable_moment(
            previous, reading, now, self.state.last_disabled_at, self._restored_success_at
        )
        if disabled_at is not None:
            # SECURITY: every disable moves this forward; sessions stamped before it are stale.
            self.state.last_disabled_at = max(self.state.last_disabled_at or 0.0, disabled_at)
        self._trust(Known(reading.enabled, read_at=self.clock()))
        self._previous = reading
        saved_at = self.state.last_success_at
        self.state.last_success_at = now
        if self._writer is not None and should_save(
            previous, reading, disabled_at is not None, saved_at, now
        ):
            # A snapshot taken here, on the loop: the thread never reads live attributes.
            self._writer.submit(SavedState(reading.enabled, self.state.last_disabled_at, now))

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

    def _trust(self, known: Known) -> None:
        self._known[_KNOWN] = known
        self._trusted = True

    def _publish(self) -> None:
        known = self._known.get(_KNOWN)  # once: the TLRU entry may expire between two gets
        self.state.message = self.state.store_message
        on_error = self.cfg.on_error
        self.state.update(
            effective_state(
                known,
                self._trusted,
                self._outage.failing,
                on_error=on_error,
                cold_start=self.cfg.cold_start,
            ),
            effective_cause(known, self._trusted, self._outage.failing, on_error=on_error),
        )
