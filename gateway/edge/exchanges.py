"""Every live customer exchange, from classification to its last byte, and what a disable does.

The gate is not a check made once on arrival: a customer exchange registers here the moment it
is classified, before any rule runs or the upstream is contacted, and leaves after its last
byte. When the portal turns off (`Exchanges.on_disable`, called from the poller's subscription,
so within one TTL of the read that saw the change), each held exchange ends by its phase:

  admitted    classified, upstream not contacted: never forwarded; the unavailable page.
  upstream    connecting, sending the request, waiting for the answer's head: the upstream
              request is abandoned (its connection closed, the body generator stopped before
              its last byte) and the client gets the unavailable page.
  relaying    the answer is being relayed: the client connection is aborted (never a clean
              end, so the client knows the answer is incomplete) and the upstream's closed.
  websocket   a handshake not yet answered to the client gets the unavailable page; one that
              completes after the switch, and every open relay, gets 1013 both ways.

The one exception is a *committed* exchange: one whose request may change state and reached
the upstream complete. A request is committed once the gateway has handed its last byte to the
upstream connection and it either carried a body or its method is not safe (RFC 9110 9.2.1:
GET, HEAD, OPTIONS, TRACE are safe). For a body, the last byte is the one that completes its
Content-Length, or the end of a chunked body; for a body-less request it is the end of the
head. A committed exchange whose answer is already relaying is not cut at the switch: it is
relayed to its end, but only for `proxy.read_timeout` more seconds; past that it is aborted
like the others. So a payment answer on its way when staff switch off is never lost, while a
GET stream (an event feed, a download) is cut at once and a browser's retry meets the
unavailable page. An answer that has not started gets the unavailable page whatever the
request was: from the switch on, customers see the gate's answer.

`held=False` registrations (operator-admitted requests) are counted but never cut. In shadow
mode a flip does not call `on_disable` at all; leaving shadow mode while disabled does
(gateway/edge/reload.py), so what shadow mode let in ends as at a flip.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from gateway.web.background import Endings

log = logging.getLogger("gateway.exchanges")

T = TypeVar("T")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class Phase(enum.Enum):
    ADMITTED = "admitted"
    UPSTREAM = "upstream"
    RELAYING = "relaying"
    WEBSOCKET = "websocket"


class Cut(Exception):
    """The portal turned off and this exchange must end before anything reached the client."""


class LiveExchange:
    """One customer exchange in flight: its phase, whether it is committed, how to end it."""

    def __init__(self, registry: Exchanges, key: int, method: str, held: bool) -> None:
        self._registry = registry
        self._key = key
        self.method = method
        self.held = held
        self.phase = Phase.ADMITTED
        self.has_body = False
        self.last_byte_sent = False
        # Set when the exchange must end now; every phase checks it after each await.
        self.cut = False
        self._inner: asyncio.Task[Any] | None = None
        self._cut_cancel = False  # `_end` cancelled the task awaiting in `run`
        self._closers: list[Callable[[], None]] = []
        self._deadline: asyncio.TimerHandle | None = None

    @property
    def committed(self) -> bool:
        """The upstream has the whole request and it may change state (see the module doc)."""
        return self.last_byte_sent and (self.has_body or self.method not in SAFE_METHODS)

    def wrote_last_byte(self) -> None:
        """Called at the moment the request's last byte is handed to the upstream connection."""
        self.last_byte_sent = True

    def check(self) -> None:
        """Raise `Cut` if the exchange must end: called between awaits of the exchange."""
        if self.cut:
            raise Cut

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await `coro` so that a disable can cancel exactly that await.

        Raises `Cut` when a disable cancelled it; a cancellation of the caller itself still
        propagates as `CancelledError` (and cancels `coro` with it).

        The await runs in the caller's own task (no task per exchange): a disable cancels that
        task while `_inner` is set, i.e. only while it is suspended inside `coro`, and the
        cancellation is taken back here (`uncancel`) once it is turned into `Cut`.
        """
        if self.cut:
            coro.close()
            raise Cut
        current = asyncio.current_task()
        assert current is not None
        self._inner = current
        try:
            result = await coro
        except asyncio.CancelledError:
            # SECURITY: `Cut` only when the disable's cancel is the one pending; a shutdown's
            # (or any other) cancel on top of it still propagates as a cancellation.
            if self._cut_cancel and current.cancelling() == 1:
                current.uncancel()
                raise Cut from None
            self._take_back(current)
            raise
        except BaseException:
            # `coro` turned the disable's cancel into its own error: the caller sees `cut`.
            self._take_back(current)
            raise
        finally:
            self._inner = None
        self._take_back(current)
        return result

    def _take_back(self, current: asyncio.Task[Any]) -> None:
        """Withdraw the disable's cancel from `current` if it is still counted there."""
        if self._cut_cancel and current.cancelling():
            current.uncancel()
        self._cut_cancel = False

    def on_cut(self, closer: Callable[[], None]) -> Callable[[], None]:
        """Register how to end the relaying phase; returns the function that forgets it."""
        if self.cut:
            closer()
            return lambda: None
        self._closers.append(closer)

        def forget() -> None:
            if closer in self._closers:
                self._closers.remove(closer)

        return forget

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run an ending that needs to await (a WebSocket close handshake) in the background."""
        self._registry.spawn(coro)

    def disable(self, grace: float) -> None:
        """The portal turned off: end now, or after `grace` seconds if committed."""
        if not self.held or self.cut:
            return
        if self.committed and self.phase is Phase.RELAYING:
            if self._deadline is None:
                log.info(
                    "customer portal disabled: finishing a committed %s (at most %gs)",
                    self.method,
                    grace,
                )
                loop = asyncio.get_running_loop()
                self._deadline = loop.call_later(grace, self._end)
            return
        self._end()

    def _end(self) -> None:
        # SECURITY: synchronous, so no byte of a cut request is handed upstream after this.
        self.cut = True
        self._deadline = None
        if self._inner is not None:
            self._cut_cancel = True
            self._inner.cancel()
        closers, self._closers = self._closers, []
        for closer in closers:
            try:
                closer()
            except Exception:  # one broken peer must not keep the others open
                log.exception("cutting a customer exchange failed")

    def done(self) -> None:
        """The exchange's last byte is out (or it was answered): forget it."""
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._closers = []
        self._registry._forget(self._key)


class Exchanges:
    """The registry of live customer exchanges, for the disable and for metrics."""

    def __init__(self) -> None:
        self._live: dict[int, LiveExchange] = {}
        self._next = 0
        self._endings = Endings(log, "ending a customer exchange")

    def __len__(self) -> int:
        return len(self._live)

    def register(self, method: str, *, held: bool = True) -> LiveExchange:
        """At classification: before any rule runs and before the upstream is contacted."""
        key = self._next
        self._next += 1
        exchange = LiveExchange(self, key, method, held)
        self._live[key] = exchange
        return exchange

    def _forget(self, key: int) -> None:
        self._live.pop(key, None)

    def counts(self) -> dict[Phase, int]:
        """Live exchanges per phase (every phase present, zero included)."""
        counts = dict.fromkeys(Phase, 0)
        for exchange in self._live.values():
            counts[exchange.phase] += 1
        return counts

    def on_disable(self, grace: float) -> int:
        """The portal turned off: end every held exchange by its phase; returns how many."""
        exchanges = [e for e in self._live.values() if e.held]
        for exchange in exchanges:
            exchange.disable(grace)
        return len(exchanges)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run an ending that awaits (a WebSocket close handshake) in the background."""
        self._endings.spawn(coro)

    async def wait_closed(self) -> None:
        """Wait for the background endings (WebSocket close handshakes) to finish."""
        await self._endings.wait_closed()
