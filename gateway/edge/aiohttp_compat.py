"""Every use of aiohttp's private members, in one module, each behind a name saying what it gives.

aiohttp's public API has no hook for a request-head deadline, for the exact status of a parse
error, for the class of a server's connection handlers, or for a response that invents no
headers; the gateway needs all four, and a fifth for speed: a response head held until its
first body bytes, so both leave in one send. Each reach into aiohttp is here and nowhere else, and
tests/edge/test_aiohttp_compat.py asserts every member named below still exists with the shape
relied on, so an aiohttp upgrade that moves one fails that test by name instead of weakening
the gateway in silence. The pin in pyproject.toml covers the minor versions this was checked on.
"""

from __future__ import annotations

from typing import Any

from aiohttp import hdrs, web
from aiohttp.http_exceptions import BadHttpMessage, LineTooLong

# The private members relied on, by owner; the canary walks this table.
RELIED_ON: dict[type, tuple[str, ...]] = {
    web.RequestHandler: ("_request_in_progress", "_messages", "_request_count", "handle_error"),
    web.Server: ("_kwargs", "_loop", "__call__"),
    web.AppRunner: ("_make_server",),
    web.StreamResponse: ("_prepare_headers", "_send_headers_immediately"),
}


def between_requests(handler: web.RequestHandler) -> bool:
    """True when no request is being handled or queued: the next bytes start a new head."""
    return not handler._request_in_progress and not handler._messages


def heads_parsed(handler: web.RequestHandler) -> int:
    """How many request heads the connection has parsed; it grows when a head completes."""
    return handler._request_count


def parse_error_status(exc: BadHttpMessage) -> int | None:
    """414 or 431 for the parse errors aiohttp answers 400; None for the others.

    aiohttp raises one `LineTooLong` for both an oversized target and an oversized header, and a
    plain `BadHttpMessage` for too many headers; only the message text tells them apart. llhttp
    reports an oversized target with the URL buffer (a bytearray), a header with its bytes.
    """
    if isinstance(exc, LineTooLong):
        return 414 if "reading: bytearray(" in str(exc) else 431
    if "Too many headers" in str(exc):
        return 431
    return None


class _HandlerClassServer(web.Server):
    """aiohttp's Server building connections of `handler_class`, set up by `configure`."""

    # Set by HandlerClassRunner right after the class swap.
    handler_class: type[web.RequestHandler]
    handler_options: dict[str, Any]

    def __call__(self) -> web.RequestHandler:
        handler = self.handler_class(self, loop=self._loop, **self._kwargs)
        for name, value in self.handler_options.items():
            setattr(handler, name, value)
        return handler


class HandlerClassRunner(web.AppRunner):
    """An AppRunner whose connections are `handler_class`, with `handler_options` set on each.

    aiohttp builds the Server inside `AppRunner._make_server` with no way to name its connection
    class, so the built server's class is swapped for a subclass that overrides only the
    factory method: the same object and state, one method different.
    """

    def __init__(
        self,
        app: web.Application,
        *,
        handler_class: type[web.RequestHandler],
        handler_options: dict[str, Any],
        **kwargs: Any,
    ) -> None:
        super().__init__(app, **kwargs)
        self.handler_class = handler_class
        self.handler_options = handler_options

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _HandlerClassServer
        assert isinstance(server, _HandlerClassServer)
        server.handler_class = self.handler_class
        server.handler_options = dict(self.handler_options)
        return server


class NoDefaultHeadersResponse(web.StreamResponse):
    """A StreamResponse that sends no Content-Type or Server it was not given.

    `StreamResponse._prepare_headers` adds `Content-Type: application/octet-stream` and
    `Server: Python/x aiohttp/y`; a transparent proxy adds neither. `server`, when set, is the
    Server sent if the headers name none.
    """

    def __init__(self, *, status: int, reason: str | None, server: str | None) -> None:
        super().__init__(status=status, reason=reason)
        self._server_override = server

    async def _prepare_headers(self) -> None:
        had_type = hdrs.CONTENT_TYPE in self.headers
        had_server = hdrs.SERVER in self.headers
        if not had_server and self._server_override:
            self.headers[hdrs.SERVER] = self._server_override
            had_server = True
        await super()._prepare_headers()
        if not had_type:
            self.headers.popall(hdrs.CONTENT_TYPE, None)
        if not had_server:
            self.headers.popall(hdrs.SERVER, None)


class HeldHeadResponse(NoDefaultHeadersResponse):
    """A NoDefaultHeadersResponse whose head waits for the first `write` or `write_eof`.

    aiohttp's StreamResponse sends its head on its own at `prepare`, then each body chunk in
    another send; `web.Response` clears `_send_headers_immediately` so the two leave together.
    The same here: the head is buffered and goes out with the first bytes written. The caller
    must write as soon as it knows the body is not there yet (`write(b"")` sends the head
    alone), or a streamed answer would keep its head back until its first event.
    """

    _send_headers_immediately = False
