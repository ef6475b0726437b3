"""Endings that await (a WebSocket's close handshake), run in the background and waited for."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any


class Endings:
    """Tasks a disable starts; a failing one is logged as `what` failed, never raised."""

    def __init__(self, log: logging.Logger, what: str) -> None:
        self._log = log
        self._what = what
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)  # a reference kept, or the task could be collected mid-run
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._log.error("%s failed", self._what, exc_info=task.exception())

    async def wait_closed(self) -> None:
        """Wait for the endings started so far (and any they start) to finish."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))
