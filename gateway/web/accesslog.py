"""The access log's writer: lines are written off the request path.

The request path formats its `AccessEntry` into one line (JSON or text, gateway/wire/logline.py:
one f-string, a few microseconds) and appends the bytes to a deque; a writer thread wakes every
`interval` and writes whole lines, one `os.write()` per batch of at most PIPE_BUF bytes (4 KiB), so a line is never
split across writes and never interleaved with another worker's. Python's logging would build
a LogRecord and format it on the request path instead, which cost 44 % of throughput on the
disabled path. `stop()` (the app's cleanup) writes everything still queued.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Callable
from typing import Literal

from gateway.wire.logline import LINE_MAX, AccessEntry, json_line, text_line

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
        self._pending: deque[bytes | _Flush] = deque()
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
        """Format one line and queue it; the write happens on the writer thread.

        Formatting here (a few microseconds, one f-string) rather than on the thread keeps the
        thread from holding the GIL against the event loop: it only joins bytes and calls
        write(), which releases the GIL. Measured (bench/proxy_bench.py, disabled route, 2 cores,
        load 0.8): CPU per request with the access log on over off fell from 1.20 to 1.08 when
        the formatting moved here from the thread.
        """
        if len(self._pending) >= self._max_pending:
            # The reader of stderr is stuck: drop (and count) rather than grow without bound.
            self.dropped += 1
            return
        try:
            line = self._render(entry)
        except Exception:
            self.dropped += 1
            log.exception("access log: a line could not be formatted")
            return
        self._pending.append(line)

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
        pending = self._pending
        batch: list[bytes] = []
        size = 0
        while pending:
            try:
                item = pending.popleft()
            except IndexError:  # another drain (stop racing the thread) took the last one
                break
            if isinstance(item, _Flush):
                self._write_batch(batch)  # what was queued before the marker, then say so
                batch, size = [], 0
                item.done.set()
                continue
            line = item
            if size + len(line) > LINE_MAX:
                self._write_batch(batch)
                batch, size = [], 0
            batch.append(line)
            size += len(line)
        self._write_batch(batch)
        if self.dropped:
            dropped, self.dropped = self.dropped, 0
            log.warning("access log: %d lines dropped (stderr not keeping up, or failing)", dropped)

    def _write_batch(self, batch: list[bytes]) -> None:
        # Whole lines, at most LINE_MAX (PIPE_BUF) bytes together: one write() the kernel makes
        # atomic on a pipe, so another worker's lines come before or after, never inside. One
        # write per batch, not per line: each write() releases and retakes the GIL the event
        # loop holds, and a write per line cost most of what the log cost (README).
        if not batch:
            return
        data = batch[0] if len(batch) == 1 else b"".join(batch)
        try:
            # A short write (a terminal, a signal) finishes the same batch before any other.
            while data:
                data = data[self._write(data) :]
        except Exception:
            self.dropped += len(batch)
            log.exception("access log: %d lines could not be written", len(batch))
