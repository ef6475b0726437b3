"""The access log's writer: lines are formatted and written off the request path.

The request path only appends an `AccessEntry` (a tuple) to a deque; a writer thread wakes
every `interval`, formats what has gathered (JSON or text, gateway/wire/logline.py) and writes
each line with one `os.write()`, so a line is never split across writes and, being at most
PIPE_BUF bytes, never interleaved with another worker's. Python's logging would build a
LogRecord and format it on the request path instead, which cost 44 % of throughput on the
disabled path. `stop()` (the app's cleanup) writes everything still queued.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Callable
from typing import Literal

from gateway.wire.logline import AccessEntry, json_line, text_line

LogFormat = Literal["json", "text"]
# `gateway.access` at INFO turns the access log on (`--log-level`); nothing goes through it.
access_logger = logging.getLogger("gateway.access")
log = logging.getLogger("gateway")

Write = Callable[[bytes], int]


def stderr_format() -> LogFormat:
    """The default: text for a person at a terminal, JSON for whatever collects stderr."""
    try:
        return "text" if os.isatty(2) else "json"
    except OSError:
        return "json"


def _stderr(data: bytes) -> int:
    return os.write(2, data)


class _Flush:
    def __init__(self) -> None:
        self.done = threading.Event()


class AccessLog:
    """One process's access log: a bounded queue and the thread that writes it."""

    def __init__(
        self,
        log_format: LogFormat,
        write: Write = _stderr,
        *,
        interval: float = 0.05,
        max_pending: int = 100_000,
    ) -> None:
        self.format = log_format
        self._render = json_line if log_format == "json" else text_line
        self._write = write
        self._interval = interval
        self._max_pending = max_pending
        self._pending: deque[AccessEntry | _Flush] = deque()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.dropped = 0
        # The worker field: taken when the writer starts, in the process that serves.
        self.pid = os.getpid()

    @property
    def enabled(self) -> bool:
        return access_logger.isEnabledFor(logging.INFO)

    def put(self, entry: AccessEntry) -> None:
        """Queue one line; called on the request path, so it only appends."""
        if len(self._pending) >= self._max_pending:
            # The reader of stderr is stuck: drop (and count) rather than grow without bound.
            self.dropped += 1
            return
        self._pending.append(entry)

    def start(self) -> None:
        if self._thread is None:
            self.pid = os.getpid()
            self._stopping = False
            self._thread = threading.Thread(
                target=self._run, name="portal-gateway access log", daemon=True
            )
            self._thread.start()

    def flush(self, timeout: float = 5.0) -> bool:
        """Block until every line queued so far is written (True), or `timeout` passes."""
        if self._thread is None:
            self._drain()
            return True
        marker = _Flush()
        self._pending.append(marker)
        self._wake.set()
        return marker.done.wait(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Write what is queued, then end the thread (the app's cleanup)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stopping = True
            self._wake.set()
            thread.join(timeout)
        self._drain()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self._interval)
            self._wake.clear()
            self._drain()

    def _drain(self) -> None:
        pending, render = self._pending, self._render
        while pending:
            try:
                item = pending.popleft()
            except IndexError:  # another drain (stop racing the thread) took the last one
                return
            if isinstance(item, _Flush):
                item.done.set()
                continue
            try:
                self._write_all(render(item))
            except Exception:
                self.dropped += 1
                log.exception("access log: a line could not be written")
        if self.dropped:
            dropped, self.dropped = self.dropped, 0
            log.warning("access log: %d lines dropped (stderr not keeping up, or failing)", dropped)

    def _write_all(self, line: bytes) -> None:
        # One write for the line; a short write (a terminal, a signal) finishes the same line
        # before any other is started.
        while line:
            line = line[self._write(line) :]
