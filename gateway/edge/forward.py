"""Forwarding: request and response bodies streamed both ways, 502/504.

aiohttp's defaults are made for an API client, not a proxy; every departure from them is
deliberate and named where it is made (see `make_session`). A customer exchange carries its
`LiveExchange` (gateway/edge/exchanges.py): every await here is either run through it, so a disable
cancels it, or followed by a check, so a disable is never missed between two awaits. The
WebSocket relay is in gateway/edge/websocket.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import hdrs, web
from yarl import URL

from gateway.config import ProxyConfig, Upstream
from gateway.edge.aiohttp_compat import HeldHeadResponse
from gateway.edge.exchanges import Cut, LiveExchange, Phase
from gateway.edge.live import LiveConnections
from gateway.edge.responses import error_response
from gateway.edge.upload import BodyState, BodyTooLarge, stream_body, trace_heads
from gateway.edge.upstream_errors import (
    PoolWatch,
    UpstreamErrors,
    failure_kind,
    trace_pool_waits,
    watch_pool,
)
from gateway.wire.headers import Headers, decode_raw, response_headers
from gateway.wire.values import mask_secrets, mask_url

log = logging.getLogger("gateway.proxy")

# Seconds from starting the upstream request (connect and upload included) to the answer's
# head, or to the upstream's 101 for a WebSocket: the access log's `upstream_seconds`.
UPSTREAM_SECONDS = web.RequestKey("upstream_seconds", float)


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
        # One TraceConfig for both: aiohttp builds a trace and sends every signal per config,
        # for each request, whether or not a callback listens.
        trace_configs=[trace_pool_waits(trace_heads())],
    )


class RelayResponse(HeldHeadResponse):
    """A relayed upstream answer: it invents no header the upstream did not send.

    Its head leaves with the body bytes already received from the upstream, in one send
    (see `_relay`).
    """


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
    # A customer exchange, registered at classification, so a disable can end it mid-flight.
    live: LiveExchange | None = None
    # Every relayed WebSocket, so a shutdown can say 1001 to each.
    sockets: LiveConnections | None = None
    # The route's own body limit (`routes[].client_max_size`); None: `proxy.client_max_size`.
    client_max_size: int | None = None


def _untimed(upstream: str, seconds: float) -> None:
    return None


class Forwarder:
    """Sends one exchange upstream and relays the answer back.

    `errors` counts and logs failures (rate-limited); `timing(upstream, seconds)` hears how
    long each upstream took to send its answer's head.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        proxy: ProxyConfig,
        errors: UpstreamErrors | None = None,
        timing: Callable[[str, float], None] = _untimed,
    ) -> None:
        self.session = session
        self.proxy = proxy
        self.errors = errors or UpstreamErrors()
        self.timing = timing

    def error(self, ex: Exchange, status: int, why: str, kind: str = "other") -> web.Response:
        self._report(ex, kind, why)
        return error_response(ex.request, status, ex.request_id)

    def _report(self, ex: Exchange, kind: str, why: str) -> None:
        where = mask_url(ex.upstream.url)
        detail = f"({where}) {kind}: {mask_secrets(why, ex.upstream.url)}"
        self.errors.failed(ex.upstream.name, kind, detail, ex.request_id)

    def _failed(
        self, ex: Exchange, exc: Exception, state: BodyState, pool: PoolWatch
    ) -> web.Response:
        if isinstance(exc, BodyTooLarge) or state.too_large:
            return error_response(ex.request, 413, ex.request_id, close=True)
        kind = failure_kind(exc, pool)
        if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
            why = "no free pooled connection in time" if kind == "pool_exhausted" else "timed out"
            return self.error(ex, 504, why, kind)
        if isinstance(exc, aiohttp.ClientConnectorError):
            return self.error(ex, 502, f"connection failed: {exc.os_error.strerror or exc}", kind)
        if isinstance(exc, aiohttp.ClientError | ValueError):
            return self.error(ex, 502, f"{type(exc).__name__}: {exc}", kind)
        raise exc

    async def forward(self, ex: Exchange) -> web.StreamResponse:
        """Forward and relay; raises `Cut` when a disable ended it before the client got a byte."""
        request = ex.request
        live = ex.live
        length = request.headers.get(hdrs.CONTENT_LENGTH)
        has_body = request.body_exists
        limit = self.proxy.client_max_size if ex.client_max_size is None else ex.client_max_size
        if length is not None and int(length) > limit:
            # Answered before the body is read: nothing is forwarded.
            return error_response(request, 413, ex.request_id, close=True)
        if live is not None:
            live.has_body = has_body
            live.phase = Phase.UPSTREAM
            # SECURITY: the portal may have turned off since classification (while the rules
            # ran): the upstream is not contacted.
            live.check()
        if has_body and request.headers.get(hdrs.EXPECT, "").lower() == "100-continue":
            # The gateway answers Expect itself (it is stripped upstream), and only now that
            # the request is known to be forwarded.
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            if live is not None:
                live.check()
        state = BodyState()
        data: Any = None
        if has_body:
            data = stream_body(request, limit, state, live)
        elif length == "0":
            data = b""
        call = self.session.request(
            request.method,
            upstream_url(ex.upstream, ex.target),
            headers=ex.headers,
            data=data,
            allow_redirects=False,
            compress=None,
            chunked=None,
            # A body-less request's last byte is its head: `_head_sent` marks it.
            trace_request_ctx=None if has_body else live,
        )
        pool = watch_pool()
        sent = time.monotonic()
        try:
            # Through the exchange, so a disable cancels the connect, the upload or the wait
            # for the answer's head, and the upstream connection is closed with it.
            upstream = await (live.run(call) if live is not None else call)
            request[UPSTREAM_SECONDS] = time.monotonic() - sent
        except (asyncio.CancelledError, Cut):
            raise
        except Exception as exc:
            if live is not None and live.cut:
                raise Cut from exc  # the body generator stopped because of the disable
            return self._failed(ex, exc, state, pool)
        finally:
            pool.stop()
        # The same time as the access log's `upstream_seconds`.
        self.timing(ex.upstream.name, request[UPSTREAM_SECONDS])
        try:
            return await self._relay(ex, upstream)
        finally:
            # Returns the connection to the pool only when the body was read to its end.
            if upstream.content.is_eof():
                await upstream.release()
            else:
                upstream.close()

    def _abort(self, ex: Exchange, why: str, *args: object) -> None:
        # SECURITY/correctness: never end a truncated body cleanly. Aborting the client
        # connection is the only way to tell it the response is incomplete.
        log.warning(why + " [request %s]", *args, ex.request_id)
        if ex.request.transport is not None:
            ex.request.transport.abort()

    async def _relay(self, ex: Exchange, upstream: aiohttp.ClientResponse) -> web.StreamResponse:
        request = ex.request
        live = ex.live
        try:
            headers = response_headers(decode_raw(upstream.raw_headers))
        except ValueError as exc:
            return self.error(ex, 502, str(exc))
        response = RelayResponse(
            status=upstream.status, reason=upstream.reason, server=self.proxy.server_header
        )
        for name, value in headers:
            response.headers.add(name, value)
        response.headers.setdefault("X-Request-ID", ex.request_id)
        for edit in ex.on_response:
            await edit(response)
        forget = _nothing
        if live is not None:
            live.check()  # nothing has been sent to the client yet: the caller answers 503
            live.phase = Phase.RELAYING
            forget = live.on_cut(lambda: _cut(request, upstream))
        try:
            await response.prepare(request)
            # The head is held (HeldHeadResponse) and leaves with what the upstream has already
            # sent of the body: one send, not two, for an answer that came in one piece. When
            # nothing is there yet (a streamed answer, SSE, a long poll), `write(b"")` sends
            # the head alone now: the client never waits for the body to see the head.
            await response.write(upstream.content.read_nowait())
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
        except (ConnectionResetError, aiohttp.ClientConnectionResetError):
            if live is not None and live.cut:
                self._abort(ex, "customer portal disabled: response cut")
                return response
            # The client went away; the upstream connection is closed by the caller.
            log.info("client disconnected mid-response [request %s]", ex.request_id)
            return response
        except (aiohttp.ClientError, TimeoutError) as exc:
            if live is not None and live.cut:
                self._abort(ex, "customer portal disabled: response cut")
            else:
                self._report(ex, failure_kind(exc), f"response cut short: {type(exc).__name__}")
                if request.transport is not None:
                    request.transport.abort()  # as _abort: never end a truncated body cleanly
            return response
        finally:
            forget()
        if live is not None and live.cut:
            # The upstream's body ended because the cut closed it: not a clean end either.
            self._abort(ex, "customer portal disabled: response cut")
            return response
        await response.write_eof()
        return response


def _nothing() -> None:
    return None


def _cut(request: web.Request, upstream: aiohttp.ClientResponse) -> None:
    """End a relayed customer answer now: the portal was switched off mid-response."""
    upstream.close()
    if request.transport is not None:
        request.transport.abort()
