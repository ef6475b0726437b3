"""The request body on its way upstream: the size limit, a disable, and the last byte's moment."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from gateway.edge.exchanges import Cut, Exchanges, LiveExchange
from gateway.edge.upload import BodyState, BodyTooLarge, stream_body, trace_heads


def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    async def gen() -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    return gen()


async def serve_body(
    aiohttp_server: AiohttpServer, limit: int, live: LiveExchange | None
) -> tuple[str, BodyState]:
    """POST a chunked body of 3 + 4 bytes through stream_body; (outcome, state)."""
    state = BodyState()
    outcome: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        got = b""
        try:
            async for chunk in stream_body(request, limit, state, live):
                got += chunk
            outcome.append(got.decode())
        except BodyTooLarge:
            outcome.append("too large")
        except Cut:
            outcome.append("cut")
        return web.Response()

    app = web.Application()
    app.router.add_post("/", handler)
    server = await aiohttp_server(app)
    async with (
        aiohttp.ClientSession() as session,
        session.post(server.make_url("/"), data=chunks(b"abc", b"defg")) as resp,
    ):
        assert resp.status == 200
    return outcome[0], state


async def test_a_body_within_the_limit_passes_and_its_end_is_the_last_byte(
    aiohttp_server: AiohttpServer,
) -> None:
    live = Exchanges().register("POST")
    outcome, state = await serve_body(aiohttp_server, 7, live)
    assert (outcome, state.sent, state.too_large, live.last_byte_sent) == (
        "abcdefg",
        7,
        False,
        True,
    )


async def test_a_body_over_the_limit_stops_before_the_chunk_that_passes_it(
    aiohttp_server: AiohttpServer,
) -> None:
    live = Exchanges().register("POST")
    outcome, state = await serve_body(aiohttp_server, 2, live)
    # However the bytes arrive, the first chunk already passes 2: nothing goes upstream.
    assert (outcome, state.sent, state.too_large, live.last_byte_sent) == (
        "too large",
        0,
        True,
        False,
    )


async def test_a_disabled_exchange_sends_no_byte_and_never_ends_its_body(
    aiohttp_server: AiohttpServer,
) -> None:
    live = Exchanges().register("POST")
    live.cut = True  # the portal turned off before the body arrived
    outcome, state = await serve_body(aiohttp_server, 100, live)
    assert (outcome, state.sent, live.last_byte_sent) == ("cut", 0, False)


async def test_without_an_exchange_the_body_just_streams(aiohttp_server: AiohttpServer) -> None:
    outcome, state = await serve_body(aiohttp_server, 100, None)
    assert (outcome, state.sent) == ("abcdefg", 7)


async def test_a_content_length_body_is_complete_at_the_chunk_that_fills_it(
    aiohttp_server: AiohttpServer,
) -> None:
    live = Exchanges().register("PUT")
    seen: list[bool] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        async for _ in stream_body(request, 100, BodyState(), live):
            seen.append(live.last_byte_sent)
        return web.Response()

    app = web.Application()
    app.router.add_put("/", handler)
    server = await aiohttp_server(app)
    async with (
        aiohttp.ClientSession() as session,
        session.put(server.make_url("/"), data=b"0123456789") as resp,
    ):
        assert resp.status == 200
    assert seen[-1] is True and live.committed


async def test_the_trace_marks_a_bodyless_requests_head_as_its_last_byte(
    aiohttp_server: AiohttpServer,
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response()

    app = web.Application()
    app.router.add_get("/", handler)
    server = await aiohttp_server(app)
    live = Exchanges().register("GET")
    async with aiohttp.ClientSession(trace_configs=[trace_heads()]) as session:
        async with session.get(server.make_url("/"), trace_request_ctx=live) as resp:
            assert resp.status == 200
        assert live.last_byte_sent and not live.committed  # a GET never commits
        async with session.get(server.make_url("/")) as resp:  # no exchange: nothing to mark
            assert resp.status == 200
