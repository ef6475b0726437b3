"""The customer requests an app's handlers are serving, and what a disable does to each.

The in-process counterpart of the proxy's exchange rules (gateway/edge/exchanges.py): a
customer request is held from the moment it is classified until its handler is done. When the
portal turns off (the poller's subscription, so within one TTL of the read that saw it), each
held request ends by its phase:

  handler     the answer has not started: it becomes the unavailable page. A request that
              cannot change state (a safe method, no body) has its handler cancelled at once,
              so a long poll answers now; one that may change state (an unsafe method or a
              body) is not cancelled mid-work: the handler runs to its end and its answer is
              replaced by the unavailable page.
  streaming   the handler started a streamed answer: the connection is aborted (never a clean
              end) and the handler cancelled. A *committed* request (one that may change
              state) gets `proxy.read_timeout` more seconds to finish its answer first.
  websocket   an open WebSocket, or one whose handshake completes after the switch, is closed
              with 1013 "Try Again Later".

Unlike the proxy, the app received the whole request before its handler ran, so "committed"
needs no last-byte tracking: it is the method and the body alone.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from gateway.web.background import Endings

log = logging.getLogger("gateway.plugin")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class Phase(enum.Enum):
    HANDLER = "handler"
    STREAMING = "streaming"
    WEBSOCKET = "websocket"


class Live:
    """One customer request in its handler: its phase and how to end it."""

    def __init__(self, registry: InFlight, key: int, method: str, has_body: bool) -> None:
        self._registry = registry
        self._key = key
        self.method = method
        self.phase = Phase.HANDLER
        self.committed = has_body or method not in SAFE_METHODS
        self.cut = False  # the portal turned off while this request was live
        self.finished = False  # the handler is done; aiohttp may still prepare its answer
        self.task: asyncio.Task[Any] | None = None  # the handler, in a task of its own
        self._closer: Callable[[], None] | None = None
        self._deadline: asyncio.TimerHandle | None = None

    def streaming(self, closer: Callable[[], None], *, websocket: bool = False) -> None:
        """The answer has started; `closer` is how a disable ends it from now on."""
        self.phase = Phase.WEBSOCKET if websocket else Phase.STREAMING
        self._closer = closer
        if self.cut:
            # A WebSocket whose handshake completes after the switch: closed at once.
            self._end()

    def disable(self, grace: float) -> None:
        if self.cut:
            return
        if self.committed and self.phase is Phase.STREAMING:
            if self._deadline is None:
                log.info(
                    "customer portal disabled: finishing a committed %s (at most %gs)",
                    self.method,
                    grace,
                )
                self._deadline = asyncio.get_running_loop().call_later(grace, self._end)
            return
        self._end()

    def _end(self) -> None:
        # SECURITY: synchronous, so the handler cannot start an answer between the switch and
        # this mark: the middleware and the prepare hook both read `cut`.
        self.cut = True
        self._deadline = None
        if self.phase is Phase.WEBSOCKET:
            # The handler keeps running: it sees its socket close and returns by itself.
            pass
        elif self.task is not None and (self.phase is Phase.STREAMING or not self.committed):
            self.task.cancel()
        closer, self._closer = self._closer, None
        if closer is not None:
            try:
                closer()
            except Exception:  # one broken connection must not keep the others open
                log.exception("cutting a customer request failed")

    def done(self) -> None:
        self.finished = True
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._closer = None
        self._registry.forget(self._key)


class InFlight:
    """The registry of customer requests in their handlers, for the disable."""

    def __init__(self) -> None:
        self._live: dict[int, Live] = {}
        self._next = 0
        self._endings = Endings(log, "ending a customer request")

    def __len__(self) -> int:
        return len(self._live)

    def register(self, method: str, has_body: bool) -> Live:
        key = self._next
        self._next += 1
        live = self._live[key] = Live(self, key, method, has_body)
        return live

    def forget(self, key: int) -> None:
        self._live.pop(key, None)

    def on_disable(self, grace: float) -> int:
        """The portal turned off: end every live customer request by its phase."""
        live = list(self._live.values())
        for request in live:
            request.disable(grace)
        return len(live)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run an ending that awaits (a WebSocket close handshake) in the background."""
        self._endings.spawn(coro)

    async def wait_closed(self) -> None:
        """Wait for the background endings (WebSocket close handshakes) to finish."""
        await self._endings.wait_closed()
