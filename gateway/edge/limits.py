"""Open files and client connections: limits that hold under load, and say so in the log.

Every client connection is a descriptor, and so is every upstream connection, the store's
connection, the state file and the log. Under the common default of 1,024 open files a few
hundred idle keep-alive clients used to be enough for `accept()` to fail with "Too many open
files": new connections hung in the listen queue and the settings read failed, so a staff
disable would not have been seen. So at start the gateway raises its soft open-files limit to
the hard limit (`raise_open_files_limit`), and bounds client connections below what is left
after a reserve (`default_max_connections`). At the bound a new connection first takes the
place of the oldest idle one (no request in progress: a keep-alive connection between requests,
or one that never sent a byte), as nginx reuses keep-alive connections when it runs out; only
when every connection is busy is it refused at once, with a minimal 503, and counted. Refusals,
reclaimed connections and failed accepts are logged as one summary line per interval.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import resource
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.config import ProxyConfig

log = logging.getLogger("gateway.limits")

# Descriptors kept out of the client bound: stdio, the listeners, the event loop's own, the
# store's connection, the state file, the log and DNS lookups (64), plus one accept batch
# (asyncio accepts up to the listen backlog, 128, before the first new connection is seen).
RESERVED_DESCRIPTORS = 64 + 128
# When the hard limit is "unlimited", Linux still caps descriptors at fs.nr_open (this default).
_UNLIMITED_CAP = 1 << 20
# accept() errors that mean "out of descriptors or memory": asyncio pauses that listener for a
# second and reports each through the loop's exception handler.
ACCEPT_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
# How many of the oldest connections one new connection looks at for an idle one to reclaim:
# bounded, so a full listener of busy connections costs each refusal a constant.
_SCAN = 256
REFUSED_ANSWER = (
    b"HTTP/1.1 503 Service Unavailable\r\nServer: portal-gateway\r\nContent-Length: 0\r\n"
    b"Retry-After: 1\r\nConnection: close\r\n\r\n"
)


@dataclass(frozen=True)
class OpenFiles:
    """The open-files limit before and after `raise_open_files_limit`."""

    before: int
    now: int
    hard: int | None  # None: unlimited


def _finite(value: int) -> int:
    return _UNLIMITED_CAP if value == resource.RLIM_INFINITY else value


def open_files_limit() -> int:
    """This process's soft open-files limit."""
    return _finite(resource.getrlimit(resource.RLIMIT_NOFILE)[0])


def raise_open_files_limit() -> OpenFiles:
    """Raise the soft open-files limit to the hard limit (or as far as the system lets it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = _finite(hard)
    if _finite(soft) < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:  # e.g. macOS caps below an unlimited hard limit
            log.warning("open files: could not raise the limit from %d: %s", soft, exc)
    return OpenFiles(
        before=_finite(soft),
        now=open_files_limit(),
        hard=None if hard == resource.RLIM_INFINITY else hard,
    )


def default_max_connections(open_files: int, pool_size: int) -> int:
    """Client connections `open_files` allows after the reserve and the upstream pool.

    Each client request being forwarded holds an upstream connection, so the upstream pool
    gets at most half of what is left: a pool_size of 1,000 under 1,024 open files must not
    leave no room for clients.
    """
    available = open_files - RESERVED_DESCRIPTORS
    return max(1, available - min(pool_size, available // 2))


class Reclaimable(Protocol):
    """A client connection as the bound sees it."""

    def idle(self) -> bool:
        """No request in progress: closing it loses nothing the client is waiting for."""

    def reclaim(self) -> None:
        """Close it now to make room for a new connection."""


class EventSummary:
    """Rate-limited warnings: the first event at once, then one summary line per interval.

    `note()` counts; the line says how many of each kind happened since the last one and the
    latest detail. A flush is scheduled on the running loop so the last events of a burst are
    reported too.
    """

    def __init__(
        self,
        logger: logging.Logger = log,
        *,
        interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval
        self._log, self._clock = logger, clock
        self._counts: dict[str, int] = {}
        self._details: dict[str, str] = {}
        self._last: float | None = None
        self._timer: asyncio.TimerHandle | None = None

    def note(self, what: str, detail: str, count: int = 1) -> None:
        self._counts[what] = self._counts.get(what, 0) + count
        self._details[what] = detail
        now = self._clock()
        if self._last is None or now - self._last >= self.interval:
            self.flush()
        elif self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop (a test): the next note() or flush() reports it
            self._timer = loop.call_later(self.interval - (now - self._last), self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._counts:
            return
        since = "" if self._last is None else f" in the last {self._clock() - self._last:.0f}s"
        self._last = self._clock()
        parts = [f"{n} {what} ({self._details[what]})" for what, n in self._counts.items()]
        self._counts.clear()
        self._log.warning("%s%s", "; ".join(parts), since)


class ConnectionLimit:
    """The bound on client connections, shared by every listener of one process.

    `refused`, `reclaimed` and `accept_errors` are plain counters for the metrics: they only
    grow. `open` is how many client connections are open now.
    """

    def __init__(self, limit: int, *, open_files: int, summary: EventSummary | None = None) -> None:
        self.limit = limit
        self.open_files = open_files
        self.refused = 0
        self.reclaimed = 0
        self.accept_errors = 0
        self.summary = summary or EventSummary()
        self._open: OrderedDict[Reclaimable, None] = OrderedDict()

    @property
    def open(self) -> int:
        return len(self._open)

    def admit(self, conn: Reclaimable) -> bool:
        """True when `conn` may be served; False when it must be refused (counted)."""
        if len(self._open) >= self.limit:
            victim = self._idle_one()
            if victim is None:
                self.refused += 1
                self.summary.note(
                    "client connections refused",
                    f"all {self.limit} busy; proxy.max_connections",
                )
                return False
            del self._open[victim]
            victim.reclaim()
            self.reclaimed += 1
            self.summary.note(
                "idle client connections closed to admit new ones",
                f"{self.limit} open; proxy.max_connections",
            )
        self._open[conn] = None
        return True

    def release(self, conn: Reclaimable) -> None:
        self._open.pop(conn, None)

    def _idle_one(self) -> Reclaimable | None:
        for _ in range(min(_SCAN, len(self._open))):
            oldest = next(iter(self._open))
            if oldest.idle():
                return oldest
            self._open.move_to_end(oldest)  # busy: the others are looked at first next time
        return None

    def on_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """The loop's exception handler: failed accepts are counted and summarised, not logged
        one traceback each; everything else goes to asyncio's default handler."""
        exc = context.get("exception")
        if (
            isinstance(exc, OSError)
            and exc.errno in ACCEPT_ERRNOS
            and "accept" in str(context.get("message", ""))
        ):
            self.accept_failed(exc)
            return
        loop.default_exception_handler(context)

    def accept_failed(self, exc: OSError, turned_away: int = 1) -> None:
        """accept() failed for want of descriptors; `turned_away` connections were closed at
        once for it (uvloop, gateway/edge/accept.py) or left waiting (asyncio pauses)."""
        self.accept_errors += turned_away
        self.summary.note(
            "failed accepts",
            f"{exc.strerror}; open files limit {self.open_files}, {self.open} client connections",
            turned_away,
        )


def connection_limit(proxy: ProxyConfig) -> ConnectionLimit:
    """The bound for this process: `proxy.max_connections`, or what the open files allow."""
    files = open_files_limit()
    limit = proxy.max_connections or default_max_connections(files, proxy.pool_size)
    return ConnectionLimit(limit, open_files=files)


def overcommitted(connections: ConnectionLimit, proxy: ProxyConfig) -> str | None:
    """A warning when `proxy.max_connections` is more than the open files leave room for."""
    room = default_max_connections(connections.open_files, proxy.pool_size)
    if connections.limit <= room:
        return None
    return (
        f"proxy.max_connections {connections.limit} is more than the open files limit "
        f"({connections.open_files}) leaves room for ({room}): accept() will fail first"
    )


def describe(files: OpenFiles, connections: ConnectionLimit) -> str:
    """The start-up line: the open-files limit the gateway runs with and the client bound."""
    if files.now > files.before:
        how = f"raised from {files.before}"
    else:
        how = "the hard limit" if files.now == files.hard else f"hard limit {files.hard}"
    return (
        f"open files: limit {files.now} ({how}); at most {connections.limit} client "
        f"connections (proxy.max_connections)"
    )
