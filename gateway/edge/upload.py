"""The request body on its way upstream, and the moment its last byte leaves.

A disable cuts a customer request unless it is committed (gateway/edge/exchanges.py), so the
gateway must know exactly when the upstream has the whole request: for a body, when the chunk
that completes it is handed to aiohttp (or the chunked body ends); for a body-less request,
when aiohttp writes the head.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from gateway.edge.exchanges import LiveExchange


async def _head_sent(
    session: aiohttp.ClientSession, ctx: Any, params: aiohttp.TraceRequestHeadersSentParams
) -> None:
    # Past this signal aiohttp writes a body-less request's head without asking the gateway
    # again: its last byte is as good as sent, so from here a disable treats it as such.
    if isinstance(ctx.trace_request_ctx, LiveExchange):
        ctx.trace_request_ctx.wrote_last_byte()


def trace_heads(trace: aiohttp.TraceConfig | None = None) -> aiohttp.TraceConfig:
    """The upstream client's trace that marks a body-less customer request's head as sent
    (added to `trace` when given: one TraceConfig costs each request one set of signals)."""
    trace = aiohttp.TraceConfig() if trace is None else trace
    trace.on_request_headers_sent.append(_head_sent)
    return trace


class BodyTooLarge(Exception):
    pass


@dataclass
class BodyState:
    sent: int = 0
    too_large: bool = False


async def stream_body(
    request: web.Request, limit: int, state: BodyState, live: LiveExchange | None
) -> AsyncIterator[bytes]:
    """The client's body as it arrives, at most `limit` bytes; stops at a disable (`Cut`)."""
    length = request.content_length
    async for chunk in request.content.iter_any():
        if state.sent + len(chunk) > limit:
            # The upstream sees at most `limit` bytes; the exchange is then abandoned.
            state.too_large = True
            raise BodyTooLarge
        if live is not None:
            # SECURITY: raise, never return: a generator that ends is a complete body to
            # aiohttp, which would then write the chunked terminator.
            live.check()
            if length is not None and state.sent + len(chunk) >= length:
                live.wrote_last_byte()  # this chunk completes the Content-Length body
        state.sent += len(chunk)
        yield chunk
    if live is not None:
        live.check()
        # aiohttp writes the chunked terminator next, with no await of ours in between.
        live.wrote_last_byte()
