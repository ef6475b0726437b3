"""Upstream failures: counted one by one, logged a line per interval instead of one per request.

A dead upstream fails every request sent to it; one WARNING each drowned the log (10,000 lines
in 8 s). The first failure after a quiet interval is logged at once, so an outage shows as it
starts; those that follow within `interval` are counted and written as one summary line with
counts by upstream and kind. Each failure is still counted in metrics and logged at DEBUG
with its request id.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections import Counter
from collections.abc import Callable
from types import SimpleNamespace

import aiohttp

log = logging.getLogger("gateway.proxy")

SUMMARY_INTERVAL = 10.0


def _uncounted(upstream: str, kind: str) -> None:
    return None


class UpstreamErrors:
    """The rate-limited log and the counter of upstream failures; `clock` is monotonic."""

    def __init__(
        self,
        count: Callable[[str, str], None] = _uncounted,
        *,
        interval: float = SUMMARY_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.count = count
        self.interval = interval
        self.clock = clock
        self._pending: Counter[tuple[str, str]] = Counter()
        self._last: str = ""
        # Start of the current interval; None when quiet (the next failure is logged at once).
        self._since: float | None = None

    def failed(self, upstream: str, kind: str, why: str, request_id: str) -> None:
        """One failed exchange; `why` names the upstream's address (masked) and the error."""
        self.count(upstream, kind)
        log.debug("upstream %s %s: %s [request %s]", upstream, kind, why, request_id)
        if self._since is None:
            self._since = self.clock()
            log.warning(
                "upstream %s: %s [request %s] (further upstream errors: one line per %gs)",
                upstream,
                why,
                request_id,
                self.interval,
            )
            return
        self._pending[(upstream, kind)] += 1
        self._last = f"upstream {upstream}: {why}"
        self.flush_due()

    def flush_due(self) -> None:
        """Write the summary once the interval has passed (called on failures and by a timer)."""
        if self._since is not None and self.clock() - self._since >= self.interval:
            self.flush()

    def flush(self) -> None:
        """The summary of the failures since the last line, if any; quiet otherwise."""
        if not self._pending:
            self._since = None
            return
        elapsed = self.clock() - (self._since or 0.0)
        counts = ", ".join(
            f"{upstream} {kind} {n}" for (upstream, kind), n in sorted(self._pending.items())
        )
        total = sum(self._pending.values())
        log.warning(
            "%d more upstream errors in the last %.0fs: %s (last: %s)",
            total,
            elapsed,
            counts,
            self._last,
        )
        self._pending.clear()
        self._since = self.clock()


class PoolWatch:
    """Whether this exchange is waiting for a free pooled connection (set by the trace)."""

    waiting = False

    def stop(self) -> None:
        _POOL_WAIT.set(None)


def watch_pool() -> PoolWatch:
    """Watch the pool waits of the upstream request this task is about to make."""
    watch = PoolWatch()
    _POOL_WAIT.set(watch)
    return watch


# The exchange's PoolWait: a context variable, because the trace's callbacks run in the
# request's own task (`LiveExchange.run` awaits in it too).
_POOL_WAIT: contextvars.ContextVar[PoolWatch | None] = contextvars.ContextVar(
    "pool_wait", default=None
)


async def _queued(wait: bool) -> None:
    found = _POOL_WAIT.get()
    if found is not None:
        found.waiting = wait


async def _queued_start(_: object, __: SimpleNamespace, ___: object) -> None:
    await _queued(True)


async def _queued_end(_: object, __: SimpleNamespace, ___: object) -> None:
    await _queued(False)


def trace_pool_waits(trace: aiohttp.TraceConfig | None = None) -> aiohttp.TraceConfig:
    """Marks the exchange waiting for the pool: a timeout then means `pool_exhausted`.

    Added to `trace` when given: one TraceConfig costs each request one set of signals.
    """
    # aiohttp's connect timeout covers the wait for a free pooled connection and the connect
    # alike; without this, an exhausted pool would show as a plain upstream timeout.
    trace = aiohttp.TraceConfig() if trace is None else trace
    trace.on_connection_queued_start.append(_queued_start)
    trace.on_connection_queued_end.append(_queued_end)
    return trace


def failure_kind(exc: BaseException, pool: PoolWatch | None = None) -> str:
    """The `kind` of an upstream failure: refused, timeout, pool_exhausted, reset or other."""
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return "pool_exhausted" if pool is not None and pool.waiting else "timeout"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "refused"
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError):
        return "reset"
    if isinstance(exc, aiohttp.ClientPayloadError | ConnectionResetError):
        return "reset"
    return "other"
