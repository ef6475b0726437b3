"""The HTTP/1 connection handler, hardened where aiohttp's server defaults are an app server's.

aiohttp has no limit on how long a client may take to send a request head (slowloris), answers
every parse error with 400 (an oversized header is a 431, an oversized target a 414), logs a
traceback per malformed request, names itself in `Server`, and accepts connections until the
process runs out of descriptors. `GatewayRunner` swaps in a request handler that fixes those
five things and nothing else (the connection bound itself is gateway/edge/limits.py); the parsing itself, which
rejects CL+TE, duplicate Content-Length, obs-fold and bare CR/LF, stays llhttp's. What this
needs from aiohttp's internals is reached through gateway/edge/aiohttp_compat.py.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import hdrs, web
from aiohttp.http_exceptions import BadHttpMessage

from gateway.edge.aiohttp_compat import (
    HandlerClassRunner,
    between_requests,
    heads_parsed,
    parse_error_status,
)
from gateway.edge.limits import REFUSED_ANSWER, ConnectionLimit

log = logging.getLogger("gateway.protocol")

TIMEOUT_ANSWER = (
    b"HTTP/1.1 408 Request Timeout\r\nServer: portal-gateway\r\nContent-Length: 0\r\n"
    b"Connection: close\r\n\r\n"
)


class GuardedRequestHandler(web.RequestHandler):
    """RequestHandler with a request-head deadline and exact error statuses."""

    header_timeout = 30.0
    # The process's client connection bound (None: unbounded, a server built without one).
    connections: ConnectionLimit | None = None
    _head_timer: asyncio.TimerHandle | None = None
    _refused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.connections is not None and not self.connections.admit(self):
            # Every connection is busy: answer at once rather than leave the client waiting
            # in the listen queue. aiohttp never sees this connection.
            self._refused = True
            assert isinstance(transport, asyncio.WriteTransport)
            transport.write(REFUSED_ANSWER)
            transport.close()
            return
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._refused:
            return
        if self.connections is not None:
            self.connections.release(self)
        self._disarm()
        super().connection_lost(exc)

    def idle(self) -> bool:
        """No request in progress or queued: closing now loses nothing a client waits for."""
        return self.transport is not None and between_requests(self)

    def reclaim(self) -> None:
        """Close this idle connection to make room for a new one (at proxy.max_connections)."""
        self._disarm()
        self.force_close()
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._head_timer is None and between_requests(self):
            self._arm()  # these bytes start a new request head: it has header_timeout to finish
        before = heads_parsed(self)
        super().data_received(data)
        if heads_parsed(self) != before:
            self._disarm()

    def _arm(self) -> None:
        if self._head_timer is None and self.header_timeout > 0:
            self._head_timer = asyncio.get_running_loop().call_later(
                self.header_timeout, self._head_timed_out
            )

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not between_requests(self) or self.transport is None:
            return
        # SECURITY: a client trickling a request head (slowloris) must not hold a connection.
        log.info("request head not received within %ss; closing", self.header_timeout)
        self.transport.write(TIMEOUT_ANSWER)
        self.force_close()
        self.transport.close()

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if isinstance(exc, BadHttpMessage):
            status = parse_error_status(exc) or status
            # A malformed request is the client's mistake: one line, no traceback.
            first = (exc.message or "").strip().splitlines()
            log.info(
                "refused malformed request from %s: %s %s",
                request.remote,
                status,
                first[0] if first else "",
            )
            if request.writer.output_size > 0:
                raise ConnectionError("response already started")
            response = web.Response(
                status=status, text=f"{status}: {_PHRASES.get(status, 'Bad Request')}\n"
            )
            response.force_close()
        else:
            response = super().handle_error(request, status, exc, message)  # type: ignore[assignment]
        response.headers[hdrs.SERVER] = "portal-gateway"
        return response


_PHRASES = {400: "Bad Request", 414: "URI Too Long", 431: "Request Header Fields Too Large"}


class GatewayRunner(HandlerClassRunner):
    """AppRunner whose connections are GuardedRequestHandlers."""

    def __init__(
        self,
        app: web.Application,
        *,
        header_timeout: float,
        connections: ConnectionLimit | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            app,
            handler_class=GuardedRequestHandler,
            handler_options={"header_timeout": header_timeout, "connections": connections},
            **kwargs,
        )
