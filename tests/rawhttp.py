"""Byte-level HTTP/1.1 for framing tests: a raw upstream that writes exact bytes, a raw client.

aiohttp's own client and server normalize framing (they add Content-Length, choose chunking,
refuse malformed messages); these helpers do none of that, so a test sees what went on the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

Headers = list[tuple[str, str]]


def parse_head(head: bytes) -> tuple[str, Headers]:
    """The start line and the header lines of a message head (ending in CRLFCRLF)."""
    lines = head.decode("latin-1").split("\r\n")
    headers: Headers = []
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers.append((name, value.strip()))
    return lines[0], headers


def header(headers: Headers, name: str) -> list[str]:
    return [v for k, v in headers if k.lower() == name.lower()]


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";")[0].strip(), 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # no trailers are sent in these tests
            return bytes(body)
        body += await reader.readexactly(size)
        await reader.readexactly(2)


@dataclass
class RawRequest:
    """One request as a raw upstream received it."""

    start: str
    headers: Headers
    body: bytes

    @property
    def method(self) -> str:
        return self.start.split(" ", 1)[0]

    def header(self, name: str) -> list[str]:
        return header(self.headers, name)


async def read_request(reader: asyncio.StreamReader) -> RawRequest | None:
    """The next request on a connection, or None at EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    start, headers = parse_head(head)
    if "chunked" in ",".join(header(headers, "transfer-encoding")).lower():
        body = await _read_chunked(reader)
    elif length := header(headers, "content-length"):
        body = await reader.readexactly(int(length[0]))
    else:
        body = b""
    return RawRequest(start, headers, body)


@dataclass
class RawResponse:
    status: int
    headers: Headers
    body: bytes

    def header(self, name: str) -> list[str]:
        return header(self.headers, name)


async def read_response(reader: asyncio.StreamReader, *, method: str = "GET") -> RawResponse:
    """One response, framed as RFC 9112 6.3 says (HEAD, 1xx, 204 and 304 have no body)."""
    head = await reader.readuntil(b"\r\n\r\n")
    start, headers = parse_head(head)
    status = int(start.split(" ", 2)[1])
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        body = b""
    elif "chunked" in ",".join(header(headers, "transfer-encoding")).lower():
        body = await _read_chunked(reader)
    elif length := header(headers, "content-length"):
        body = await reader.readexactly(int(length[0]))
    else:
        body = await reader.read()
    return RawResponse(status, headers, body)


async def read_until_closed(reader: asyncio.StreamReader, timeout: float) -> tuple[bytes, bool]:
    """Everything until the peer closes; (data, closed) where closed is False on the timeout."""
    chunks: list[bytes] = []
    try:
        async with asyncio.timeout(timeout):
            while True:
                try:
                    chunk = await reader.read(65536)
                except ConnectionError:
                    return b"".join(chunks), True
                if not chunk:
                    return b"".join(chunks), True
                chunks.append(chunk)
    except TimeoutError:
        return b"".join(chunks), False


@contextlib.asynccontextmanager
async def connect(port: int) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


ConnectionHandler = Callable[["RawConnection"], Awaitable[None]]


@dataclass
class RawConnection:
    """One upstream connection accepted by a RawUpstream."""

    index: int
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    upstream: RawUpstream
    closed_by_peer: asyncio.Event = field(default_factory=asyncio.Event)

    async def request(self) -> RawRequest | None:
        req = await read_request(self.reader)
        if req is not None:
            self.upstream.requests.append(req)
        return req

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def wait_peer_close(self) -> None:
        """Return when the gateway closes this connection (EOF or reset)."""
        with contextlib.suppress(ConnectionError):
            while await self.reader.read(65536):
                pass
        self.closed_by_peer.set()


@dataclass
class RawUpstream:
    """An asyncio server whose handler writes exact bytes; records every request it reads."""

    handler: ConnectionHandler
    requests: list[RawRequest] = field(default_factory=list)
    connections: list[RawConnection] = field(default_factory=list)
    server: asyncio.Server | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def port(self) -> int:
        assert self.server is not None
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = RawConnection(len(self.connections), reader, writer, self)
        self.connections.append(conn)
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            await self.handler(conn)
        except ConnectionError:
            pass
        finally:
            self.tasks.discard(task)
            writer.close()

    async def start(self) -> RawUpstream:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()
        for task in list(self.tasks):
            task.cancel()
        for task in list(self.tasks):
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await task
        for conn in self.connections:
            conn.writer.close()
        await self.server.wait_closed()


@contextlib.asynccontextmanager
async def raw_upstream(handler: ConnectionHandler) -> AsyncIterator[RawUpstream]:
    server = await RawUpstream(handler).start()
    try:
        yield server
    finally:
        await server.close()


def reply(response: bytes) -> ConnectionHandler:
    """A handler that answers every request on the connection with the same bytes."""

    async def handle(conn: RawConnection) -> None:
        while await conn.request() is not None:
            await conn.send(response)

    return handle


async def raw_request(port: int, data: bytes, *, method: str = "GET") -> RawResponse:
    """Send one request's exact bytes on a fresh connection and read one response."""
    async with connect(port) as (reader, writer):
        writer.write(data)
        await writer.drain()
        async with asyncio.timeout(10):
            return await read_response(reader, method=method)
