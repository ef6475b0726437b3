"""WebSocket relay: the upstream must answer 101 before the client gets one; frames both ways.

A customer WebSocket is held by the gate for its whole life (gateway/edge/exchanges.py): while its
handshake with the upstream is in progress a disable abandons it and the client gets the
unavailable page; once the client's 101 is on its way, the relay is ended with 1013 instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import aiohttp
from aiohttp import hdrs, web

from gateway.edge.exchanges import Cut, Phase
from gateway.edge.forward import UPSTREAM_SECONDS, Exchange, Forwarder, upstream_url
from gateway.edge.responses import error_response
from gateway.edge.upstream_errors import failure_kind

log = logging.getLogger("gateway.proxy")

_WS_HANDSHAKE = frozenset(
    {
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-protocol",
        "sec-websocket-extensions",
    }
)


async def relay_websocket(forwarder: Forwarder, ex: Exchange) -> web.StreamResponse:
    """Relay a WebSocket; raises `Cut` when a disable ended it before the client got its 101."""
    request = ex.request
    live = ex.live
    protocols = [
        p.strip()
        for line in request.headers.getall(hdrs.SEC_WEBSOCKET_PROTOCOL, [])
        for p in line.split(",")
        if p.strip()
    ]
    headers = [(k, v) for k, v in ex.headers if k.lower() not in _WS_HANDSHAKE]
    proxy = forwarder.proxy
    connect = forwarder.session.ws_connect(
        upstream_url(ex.upstream, ex.target),
        headers=headers,
        protocols=protocols,
        autoclose=False,
        autoping=False,
        max_msg_size=proxy.websocket_max_message,
        compress=0,
    )
    if live is not None:
        live.phase = Phase.WEBSOCKET
    sent = time.monotonic()
    try:
        # Through the exchange: a disable during the upstream handshake abandons it.
        upstream_ws = await (live.run(connect) if live is not None else connect)
        request[UPSTREAM_SECONDS] = time.monotonic() - sent
    except aiohttp.WSServerHandshakeError as exc:
        # No tunnel unless the upstream said 101: relay its refusal status only.
        log.info("upstream refused WebSocket with %s [request %s]", exc.status, ex.request_id)
        status = exc.status if 400 <= exc.status < 600 else 502
        return error_response(request, status, ex.request_id)
    except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
        return forwarder.error(ex, 504, "WebSocket connect timed out", failure_kind(exc))
    except aiohttp.ClientError as exc:
        why = f"WebSocket connect failed: {exc}"
        return forwarder.error(ex, 502, why, failure_kind(exc))
    client_ws = web.WebSocketResponse(
        protocols=[upstream_ws.protocol] if upstream_ws.protocol else (),
        autoclose=False,
        autoping=False,
        max_msg_size=proxy.websocket_max_message,
        compress=False,
    )
    client_ws.headers["X-Request-ID"] = ex.request_id
    relay = WebSocketRelay(client_ws, upstream_ws)
    forget_cut = forget_socket = _nothing
    try:
        if live is not None and live.cut:
            # The client has no 101 yet: it gets the unavailable page; the upstream, 1013.
            await relay.upstream.close(
                code=aiohttp.WSCloseCode.TRY_AGAIN_LATER, message=b"customer portal disabled"
            )
            raise Cut
        await client_ws.prepare(request)
        if live is not None:
            # SECURITY: a disable while the 101 was being sent never leaves an open relay.
            if live.cut:
                await relay.try_again_later()
                return client_ws
            held = live
            forget_cut = held.on_cut(lambda: held.spawn(relay.try_again_later()))
        if ex.sockets is not None:
            forget_socket = ex.sockets.add(relay.going_away)
        await relay.run()
    finally:
        forget_cut()
        forget_socket()
        await upstream_ws.close()
    return client_ws


def _nothing() -> None:
    return None


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
