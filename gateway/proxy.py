"""Forwarding: request and response bodies streamed both ways, WebSocket relay, 502/504.

aiohttp's defaults are made for an API client, not a proxy; every departure from them is
deliberate and named where it is made (see `make_session`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import hdrs, web
from yarl import URL

from gateway.config import ProxyConfig, Upstream
from gateway.headers import Headers, decode_raw, response_headers
from gateway.live import LiveConnections
from gateway.responses import error_response
from gateway.values import mask_secrets, mask_url

log = logging.getLogger("gateway.proxy")

_WS_HANDSHAKE = frozenset(
    {
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-protocol",
        "sec-websocket-extensions",
    }
)


def make_session(proxy: ProxyConfig) -> aiohttp.ClientSession:
    """One pooled keep-alive client for all upstreams, configured as a proxy needs it."""
    connector = aiohttp.TCPConnector(
        limit=proxy.pool_size,  # aiohttp caps at 100 by default; requests would queue silently
        keepalive_timeout=proxy.keepalive_timeout,
        enable_cleanup_closed=False,
        force_close=False,
    )
    return aiohttp.ClientSession(
        connector=connector,
        # SECURITY: no cookie jar. One customer's upstream Set-Cookie must never be sent
        # upstream on another customer's request.
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,  # Content-Encoding passes untouched, both ways
        skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        timeout=aiohttp.ClientTimeout(
            total=None,  # the default 300 s would cut long downloads and SSE streams
            connect=proxy.connect_timeout,
            sock_connect=proxy.connect_timeout,
            sock_read=proxy.read_timeout,
        ),
        trust_env=False,
        max_field_size=proxy.max_field_size,
        max_line_size=proxy.max_field_size,
    )


class RelayResponse(web.StreamResponse):
    """A StreamResponse that invents no header the upstream did not send.

    aiohttp's `_prepare_headers` adds `Content-Type: application/octet-stream` and
    `Server: Python/x aiohttp/y`; a transparent proxy adds neither.
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


class BodyTooLarge(Exception):
    pass


@dataclass
class _BodyState:
    sent: int = 0
    too_large: bool = False


async def _stream_body(request: web.Request, limit: int, state: _BodyState) -> AsyncIterator[bytes]:
    async for chunk in request.content.iter_any():
        if state.sent + len(chunk) > limit:
            # The upstream sees at most `limit` bytes; the exchange is then abandoned.
            state.too_large = True
            raise BodyTooLarge
        state.sent += len(chunk)
        yield chunk


def upstream_url(upstream: Upstream, target: str) -> URL:
    # encoded=True: yarl would otherwise re-quote the path and query the client sent.
    return URL(upstream.url + target, encoded=True)


@dataclass(frozen=True)
class Exchange:
    """One forwarded request: what the handler decided, handed to the forwarder."""

    request: web.Request
    upstream: Upstream
    target: str
    headers: Headers
    request_id: str
    # Edits the gateway makes to the answer before it is sent (e.g. expiring a cookie).
    on_response: Sequence[Callable[[web.StreamResponse], Awaitable[None]]] = ()
    # Where a customer exchange registers while it streams, so a disable can cut it.
    live: LiveConnections | None = None
    # Every relayed WebSocket, so a shutdown can say 1001 to each.
    sockets: LiveConnections | None = None


class Forwarder:
    """Sends one exchange upstream and relays the answer back."""

    def __init__(self, session: aiohttp.ClientSession, proxy: ProxyConfig) -> None:
        self.session = session
        self.proxy = proxy

    def _error(self, ex: Exchange, status: int, why: str) -> web.Response:
        log.warning(
            "upstream %s (%s): %s [request %s]",
            ex.upstream.name,
            mask_url(ex.upstream.url),
            mask_secrets(why, ex.upstream.url),
            ex.request_id,
        )
        return error_response(ex.request, status, ex.request_id)

    async def forward(self, ex: Exchange) -> web.StreamResponse:
        request = ex.request
        length = request.headers.get(hdrs.CONTENT_LENGTH)
        has_body = request.body_exists
        if length is not None and int(length) > self.proxy.client_max_size:
            # Answered before the body is read: nothing is forwarded.
            return error_response(request, 413, ex.request_id, close=True)
        if has_body and request.headers.get(hdrs.EXPECT, "").lower() == "100-continue":
            # The gateway answers Expect itself (it is stripped upstream), and only now that
            # the request is known to be forwarded.
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        state = _BodyState()
        data: Any = None
        if has_body:
            data = _stream_body(request, self.proxy.client_max_size, state)
        elif length == "0":
            data = b""
        try:
            upstream = await self.session.request(
                request.method,
                upstream_url(ex.upstream, ex.target),
                headers=ex.headers,
                data=data,
                allow_redirects=False,
                compress=None,
                chunked=None,
            )
        except asyncio.CancelledError:
            raise
        except BodyTooLarge:
            return error_response(request, 413, ex.request_id, close=True)
        except (TimeoutError, aiohttp.ServerTimeoutError, aiohttp.ConnectionTimeoutError):
            if state.too_large:
                return error_response(request, 413, ex.request_id, close=True)
            return self._error(ex, 504, "timed out")
        except aiohttp.ClientConnectorError as exc:
            return self._error(ex, 502, f"connection failed: {exc.os_error.strerror or exc}")
        except (aiohttp.ClientError, ValueError) as exc:
            if state.too_large:
                return error_response(request, 413, ex.request_id, close=True)
            return self._error(ex, 502, f"{type(exc).__name__}: {exc}")
        try:
            return await self._relay(ex, upstream)
        finally:
            # Returns the connection to the pool only when the body was read to its end.
            if upstream.content.is_eof():
                await upstream.release()
            else:
                upstream.close()

    async def _relay(self, ex: Exchange, upstream: aiohttp.ClientResponse) -> web.StreamResponse:
        request = ex.request
        try:
            headers = response_headers(decode_raw(upstream.raw_headers))
        except ValueError as exc:
            return self._error(ex, 502, str(exc))
        response = RelayResponse(
            status=upstream.status, reason=upstream.reason, server=self.proxy.server_header
        )
        for name, value in headers:
            response.headers.add(name, value)
        response.headers.setdefault("X-Request-ID", ex.request_id)
        for edit in ex.on_response:
            await edit(response)
        unregister = ex.live.add(lambda: _cut(request, upstream)) if ex.live is not None else None
        try:
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
        except (ConnectionResetError, aiohttp.ClientConnectionResetError):
            # The client went away; the upstream connection is closed by the caller.
            log.info("client disconnected mid-response [request %s]", ex.request_id)
            return response
        except (aiohttp.ClientError, TimeoutError) as exc:
            # SECURITY/correctness: never end a truncated body cleanly. Aborting the client
            # connection is the only way to tell it the response is incomplete.
            log.warning(
                "upstream %s (%s): response cut short: %s [request %s]",
                ex.upstream.name,
                mask_url(ex.upstream.url),
                type(exc).__name__,
                ex.request_id,
            )
            if request.transport is not None:
                request.transport.abort()
            return response
        finally:
            if unregister is not None:
                unregister()
        await response.write_eof()
        return response

    async def websocket(self, ex: Exchange) -> web.StreamResponse:
        """Relay a WebSocket: the upstream must answer 101 before the client gets one."""
        request = ex.request
        protocols = [
            p.strip()
            for line in request.headers.getall(hdrs.SEC_WEBSOCKET_PROTOCOL, [])
            for p in line.split(",")
            if p.strip()
        ]
        headers = [(k, v) for k, v in ex.headers if k.lower() not in _WS_HANDSHAKE]
        try:
            upstream_ws = await self.session.ws_connect(
                upstream_url(ex.upstream, ex.target),
                headers=headers,
                protocols=protocols,
                autoclose=False,
                autoping=False,
                max_msg_size=self.proxy.websocket_max_message,
                compress=0,
            )
        except aiohttp.WSServerHandshakeError as exc:
            # No tunnel unless the upstream said 101: relay its refusal status only.
            log.info("upstream refused WebSocket with %s [request %s]", exc.status, ex.request_id)
            status = exc.status if 400 <= exc.status < 600 else 502
            return error_response(request, status, ex.request_id)
        except (TimeoutError, aiohttp.ServerTimeoutError):
            return self._error(ex, 504, "WebSocket connect timed out")
        except aiohttp.ClientError as exc:
            return self._error(ex, 502, f"WebSocket connect failed: {exc}")
        client_ws = web.WebSocketResponse(
            protocols=[upstream_ws.protocol] if upstream_ws.protocol else (),
            autoclose=False,
            autoping=False,
            max_msg_size=self.proxy.websocket_max_message,
            compress=False,
        )
        client_ws.headers["X-Request-ID"] = ex.request_id
        relay = WebSocketRelay(client_ws, upstream_ws)
        unregister = ex.live.add(relay.try_again_later) if ex.live is not None else None
        forget = ex.sockets.add(relay.going_away) if ex.sockets is not None else None
        try:
            await client_ws.prepare(request)
            await relay.run()
        finally:
            if unregister:
                unregister()
            if forget:
                forget()
            await upstream_ws.close()
        return client_ws


async def _cut(request: web.Request, upstream: aiohttp.ClientResponse) -> None:
    """End a streamed customer response now: the portal was switched off mid-stream."""
    upstream.close()
    if request.transport is not None:
        request.transport.abort()


WebSocketLike = web.WebSocketResponse | aiohttp.ClientWebSocketResponse


async def _pump(src: WebSocketLike, dst: WebSocketLike) -> None:
    while True:
        msg = await src.receive()
        if dst.closed:
            return
        if msg.type == aiohttp.WSMsgType.TEXT:
            await dst.send_str(msg.data)
        elif msg.type == aiohttp.WSMsgType.BINARY:
            await dst.send_bytes(msg.data)
        elif msg.type == aiohttp.WSMsgType.PING:
            await dst.ping(msg.data)
        elif msg.type == aiohttp.WSMsgType.PONG:
            await dst.pong(msg.data)
        elif msg.type == aiohttp.WSMsgType.CLOSE:
            # Close codes and reasons pass through as sent (4001 "bye" stays 4001 "bye").
            await dst.close(code=msg.data, message=(msg.extra or "").encode())
            return
        else:
            # An abnormal drop (no close frame) reaches the other side as 1011, never 1006.
            await dst.close(code=aiohttp.WSCloseCode.INTERNAL_ERROR, message=b"upstream lost")
            return


class WebSocketRelay:
    """Both directions of one relayed WebSocket, and the way to cut it."""

    def __init__(
        self, client: web.WebSocketResponse, upstream: aiohttp.ClientWebSocketResponse
    ) -> None:
        self.client, self.upstream = client, upstream
        self.tasks: tuple[asyncio.Task[None], ...] = ()

    async def run(self) -> None:
        self.tasks = (
            asyncio.create_task(_pump(self.client, self.upstream)),
            asyncio.create_task(_pump(self.upstream, self.client)),
        )
        try:
            _done, pending = await asyncio.wait(self.tasks, return_when=asyncio.FIRST_COMPLETED)
            # The other direction is finishing its half of the close handshake; give it a moment.
            if pending:
                await asyncio.wait(pending, timeout=2)
        finally:
            await self._stop_pumps()

    async def _stop_pumps(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, aiohttp.ClientError):
                await task

    async def end(self, code: int, to_client: bytes, to_upstream: bytes) -> None:
        await self._stop_pumps()
        await self.client.close(code=code, message=to_client)
        await self.upstream.close(code=code, message=to_upstream)

    async def try_again_later(self) -> None:
        """The portal was switched off: 1013 "Try Again Later" (RFC 6455 registry) both ways."""
        await self.end(
            aiohttp.WSCloseCode.TRY_AGAIN_LATER, b"try again later", b"customer portal disabled"
        )

    async def going_away(self) -> None:
        """The gateway is shutting down: 1001 "Going Away" both ways."""
        await self.end(
            aiohttp.WSCloseCode.GOING_AWAY, b"gateway shutting down", b"gateway shutting down"
        )
