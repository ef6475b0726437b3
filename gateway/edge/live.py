"""Long-lived connections with a coroutine that ends each: relayed WebSockets, told 1001 on drain.

Customer exchanges, which a disable ends by phase, are tracked in gateway/edge/exchanges.py.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("gateway.live")

Closer = Callable[[], Awaitable[None]]


class LiveConnections:
    """Long-lived connections, each with the coroutine that ends it."""

    def __init__(self) -> None:
        self._closers: dict[int, Closer] = {}
        self._next = 0

    def __len__(self) -> int:
        return len(self._closers)

    def add(self, closer: Closer) -> Callable[[], None]:
        key = self._next
        self._next += 1
        self._closers[key] = closer

        def remove() -> None:
            self._closers.pop(key, None)

        return remove

    async def close_all(self) -> int:
        closers = list(self._closers.values())
        self._closers.clear()
        for closer in closers:
            try:
                await closer()
            except Exception:  # one broken peer must not keep the others open
                log.exception("closing a live connection failed")
        return len(closers)
