"""The listeners' accept() in Python under uvloop, so that failed accepts are counted.

On asyncio's own loop accept() runs in Python: a failure for want of descriptors (EMFILE) goes
to the loop's exception handler, which `ConnectionLimit.on_loop_error` counts and summarises.
uvloop accepts in libuv, in C, and libuv handles EMFILE by itself: it closes a descriptor it
keeps in reserve, accepts and at once closes every pending connection, and opens the reserve
again ("the EMFILE trick", uv__emfile_trick in libuv's src/unix/stream.c). No Python callback
runs, so nothing was counted or logged. Worse, when the reserve could not be opened again,
libuv reports the error to uvloop's listen callback, whose `UVStreamServer._fatal_error`
closes the listening socket itself without telling the loop's exception handler (uvloop
handles/streamserver.pyx): the listener would stop for good, silently.

So under uvloop the gateway binds its listeners' sockets itself and accepts from a
reader callback (as asyncio's own loop does), handing each connection to uvloop with
`connect_accepted_socket`; on EMFILE it does libuv's trick itself, with a reserve descriptor of
its own, so pending clients are still turned away at once rather than left hanging, and every
connection turned away is counted (`ConnectionLimit.accept_failed`) and summarised in the log.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
from typing import Any

from aiohttp import web

from gateway.edge.limits import ACCEPT_ERRNOS, ConnectionLimit

# The listen queue: a burst of new connections (a load balancer's, 2,000 clients reconnecting)
# waits there rather than having its SYNs dropped and retried a second later; the kernel caps
# it at net.core.somaxconn.
BACKLOG = 1024
# Connections one readiness callback accepts before any is admitted or refused by the bound: at
# most the accept batch that gateway/edge/limits.py keeps descriptors in reserve for.
BATCH = 128
# Accept errors that concern only the one connection: the next is accepted as usual.
_TRANSIENT = frozenset({errno.ECONNABORTED, errno.EPROTO, errno.EPERM, errno.EINTR})


def on_uvloop(loop: asyncio.AbstractEventLoop) -> bool:
    return type(loop).__module__.split(".")[0] == "uvloop"


def _reserve() -> int | None:
    try:
        return os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None


async def listening_sockets(
    host: str | None, port: int, *, reuse_port: bool, backlog: int
) -> list[socket.socket]:
    """Bound, listening, non-blocking sockets for `host:port`, as `loop.create_server` binds
    them: one per address `host` resolves to (every interface, IPv4 and IPv6, for None), IPv6
    ones IPv6 only, SO_REUSEADDR, and SO_REUSEPORT when asked (workers). OSError as bind()'s."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _name, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(backlog)
            sock.setblocking(False)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


class Listener(asyncio.AbstractServer):
    """A listening server (what aiohttp's site keeps as its `_server`) accepting in Python."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sockets: list[socket.socket],
        factory: Any,
        connections: ConnectionLimit,
    ) -> None:
        self._loop, self._factory, self._connections = loop, factory, connections
        self.sockets = sockets
        self._reserve = _reserve()
        self._pending: set[asyncio.Task[Any]] = set()
        for sock in sockets:
            loop.add_reader(sock.fileno(), self._accept, sock)

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def is_serving(self) -> bool:
        return bool(self.sockets)

    async def start_serving(self) -> None:
        return None  # serving from the start

    async def serve_forever(self) -> None:
        raise NotImplementedError("the gateway serves through its runner")

    def close(self) -> None:
        for sock in self.sockets:
            self._loop.remove_reader(sock.fileno())
            sock.close()
        self.sockets = []
        if self._reserve is not None:
            os.close(self._reserve)
            self._reserve = None

    async def wait_closed(self) -> None:
        return None

    def _accept(self, sock: socket.socket) -> None:
        for _ in range(BATCH):
            try:
                conn, _ = sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in ACCEPT_ERRNOS:
                    self._connections.accept_failed(exc, self._turn_away(sock))
                    return
                if exc.errno in _TRANSIENT:
                    continue
                self._loop.call_exception_handler(
                    {"message": "accept() failed on a listener", "exception": exc}
                )
                return
            conn.setblocking(False)
            task = self._loop.create_task(self._connect(conn))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _connect(self, conn: socket.socket) -> None:
        try:
            await self._loop.connect_accepted_socket(self._factory, conn)
        except OSError:
            conn.close()

    def _turn_away(self, sock: socket.socket) -> int:
        """libuv's EMFILE trick: the reserve descriptor freed, every pending connection
        accepted and closed at once (the client sees it closed, not a hang), the reserve taken
        again. Returns how many were turned away (at least the one that failed)."""
        if self._reserve is None:
            self._reserve = _reserve()
            return 1
        os.close(self._reserve)
        self._reserve = None
        closed = 0
        try:
            while True:
                conn, _ = sock.accept()
                conn.close()
                closed += 1
        except OSError:
            pass  # drained (EAGAIN), or still out of descriptors
        finally:
            self._reserve = _reserve()
        return max(closed, 1)


class AcceptingSite(web.TCPSite):
    """aiohttp's TCP site; under uvloop its connections are accepted by a `Listener`."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str | None,
        port: int,
        *,
        reuse_port: bool,
        connections: ConnectionLimit,
    ) -> None:
        super().__init__(runner, host, port, reuse_address=True, reuse_port=reuse_port)
        self._listen = (host, port, reuse_port)
        self._connections = connections

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if not on_uvloop(loop):
            await super().start()  # asyncio accepts in Python already
            return
        await web.BaseSite.start(self)
        assert self._runner.server is not None
        host, port, reuse_port = self._listen
        sockets = await listening_sockets(host, port, reuse_port=reuse_port, backlog=BACKLOG)
        self._server = Listener(loop, sockets, self._runner.server, self._connections)
        self._bound_port = sockets[0].getsockname()[1] if sockets else port
