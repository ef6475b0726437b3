"""Canary: every private aiohttp member gateway/edge/aiohttp_compat.py relies on still exists,
with the shape relied on, in the installed aiohttp. An upgrade that moves one fails here by
name, not as a weaker gateway."""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage

from gateway.edge.aiohttp_compat import (
    RELIED_ON,
    HandlerClassRunner,
    HeldHeadResponse,
    NoDefaultHeadersResponse,
    between_requests,
    heads_parsed,
    parse_error_status,
)
from tests.conftest import raw_exchange


async def _ok(request: web.BaseRequest) -> web.StreamResponse:
    return web.Response(text="ok")


@pytest.mark.parametrize(
    ("owner", "name"), [(owner, name) for owner, names in RELIED_ON.items() for name in names]
)
def test_each_relied_on_member_is_declared_by_its_owner(owner: type, name: str) -> None:
    # Declared as a slot, a class attribute or a method somewhere in the owner's MRO, or set
    # in its __init__ (Server keeps no slots): the shape is checked by the tests below.
    declared = any(
        name in vars(cls) or name in getattr(cls, "__slots__", ()) for cls in owner.__mro__
    )
    assigned = f"self.{name} =" in inspect.getsource(owner)
    assert declared or assigned, f"{owner.__name__}.{name}"


async def test_request_handler_keeps_its_queue_counters_and_the_server_its_factory_state() -> None:
    server = web.Server(_ok)
    assert isinstance(server._kwargs, dict)
    assert isinstance(server._loop, asyncio.AbstractEventLoop)
    assert list(inspect.signature(web.Server.__call__).parameters) == ["self"]
    handler = server()
    assert isinstance(handler, web.RequestHandler)
    assert handler._request_in_progress is False
    assert isinstance(handler._messages, deque)
    assert handler._request_count == 0
    assert between_requests(handler) and heads_parsed(handler) == 0
    assert list(inspect.signature(web.RequestHandler.handle_error).parameters) == [
        "self",
        "request",
        "status",
        "exc",
        "message",
    ]


class _Recording(web.RequestHandler):
    errors: list[BaseException] = []
    tag = ""

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if exc is not None:
            self.errors.append(exc)
        return super().handle_error(request, status, exc, message)


async def _serve(**options: Any) -> tuple[HandlerClassRunner, int]:
    app = web.Application()
    app.router.add_get("/", _ok)
    runner = HandlerClassRunner(
        app, handler_class=_Recording, handler_options=options, access_log=None
    )
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, runner.addresses[0][1]


async def test_the_runner_builds_connections_of_the_named_class_with_their_options() -> None:
    assert inspect.iscoroutinefunction(web.AppRunner._make_server)
    runner, port = await _serve(tag="guarded")
    try:
        server = runner.server
        assert server is not None
        connection = server()
        assert type(connection) is _Recording and connection.tag == "guarded"
        reply = await raw_exchange(port, b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X-A: 1\r\n" * 200 + b"\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  folded\r\n\r\n", None),
    ],
    ids=["long-target", "long-header", "many-headers", "obs-fold"],
)
async def test_parse_errors_still_say_which_limit_in_their_text(
    request_bytes: bytes, status: int | None
) -> None:
    # The only way to tell the three apart is the parser's message text.
    _Recording.errors = []
    runner, port = await _serve()
    try:
        await raw_exchange(port, request_bytes, read_timeout=3)
    finally:
        await runner.cleanup()
    [exc] = _Recording.errors
    assert isinstance(exc, BadHttpMessage)
    assert parse_error_status(exc) == status


async def _relay(request: web.Request) -> web.StreamResponse:
    response = NoDefaultHeadersResponse(status=200, reason=None, server=request.query.get("s"))
    await response.prepare(request)
    await response.write_eof()
    return response


async def test_prepare_headers_is_still_where_the_default_headers_are_added(
    aiohttp_client: Any,
) -> None:
    assert inspect.iscoroutinefunction(web.StreamResponse._prepare_headers)
    app = web.Application()
    app.router.add_get("/", _relay)
    client = await aiohttp_client(app)
    async with client.get("/") as bare:
        assert "Content-Type" not in bare.headers and "Server" not in bare.headers
    async with client.get("/?s=edge") as named:
        assert named.headers["Server"] == "edge"
    # Without the override aiohttp does add both: the override is still needed.
    plain = web.Application()
    plain.router.add_get("/", _ok)
    async with (await aiohttp_client(plain)).get("/") as default:
        assert default.headers["Server"].startswith("Python/")
    assert aiohttp.__version__.startswith("3.14.")


async def test_a_held_head_waits_for_the_first_write_and_leaves_with_it() -> None:
    # aiohttp sends a StreamResponse's head at prepare() unless `_send_headers_immediately` is
    # false; with it false the head is buffered until the first write.
    assert web.StreamResponse._send_headers_immediately is True
    prepared, release = asyncio.Event(), asyncio.Event()

    async def held(request: web.Request) -> web.StreamResponse:
        response = HeldHeadResponse(status=200, reason=None, server=None)
        response.content_length = 4
        await response.prepare(request)
        prepared.set()
        await release.wait()
        await response.write(b"body")
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/", held)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", runner.addresses[0][1])
        writer.write(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        await asyncio.wait_for(prepared.wait(), 5)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.read(1), 0.3)  # prepared, yet nothing sent
        release.set()
        reply = await asyncio.wait_for(reader.read(), 5)
        writer.close()
    finally:
        await runner.cleanup()
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n") and reply.endswith(b"\r\n\r\nbody")
