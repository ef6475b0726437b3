"""An HTTP settings store that counts its reads, per gateway and per process.

Each gateway polls its own path, `/s/NAME/on` or `/s/NAME/off` (enabled or disabled). The
reading process is found from the TCP connection the GET came on: its local port in
/proc/net/tcp gives the socket's inode, which one of the registered gateway processes holds.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from aiohttp import web


def _inode(peer_port: int, store_port: int) -> str | None:
    # One search of the whole table: after wrk runs it holds thousands of TIME_WAIT lines.
    line = re.compile(rf"^\s*\d+: [0-9A-F]+:{peer_port:04X} [0-9A-F]+:{store_port:04X} .*$", re.M)
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            found = line.search(Path(name).read_text())
        except OSError:
            continue
        if found:
            return found.group(0).split()[9]
    return None


def _owner(inode: str, pids: list[int]) -> int | None:
    link = f"socket:[{inode}]"
    for pid in pids:
        fds = Path(f"/proc/{pid}/fd")
        try:
            for fd in fds.iterdir():
                try:
                    if fd.readlink().as_posix() == link:
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None


class CountingStore:
    """Serves `{"enabled": ...}` on a free port in a thread of its own; counts GETs."""

    def __init__(self, candidates: Callable[[], list[int]]) -> None:
        self.candidates = candidates
        self.reads: Counter[tuple[str, int | None]] = Counter()
        self._lock = threading.Lock()
        self._readers: dict[object, int | None] = {}
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.port = 0
        self._thread = threading.Thread(target=self._run, name="store", daemon=True)

    def url(self, name: str, enabled: bool) -> str:
        return f"http://127.0.0.1:{self.port}/s/{name}/{'on' if enabled else 'off'}"

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(10):
            raise SystemExit("the bench's settings store did not start")

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(10)

    def snapshot(self) -> Counter[tuple[str, int | None]]:
        with self._lock:
            return Counter(self.reads)

    async def _read(self, request: web.Request) -> web.Response:
        name, state = request.match_info["name"], request.match_info["state"]
        # The reader of a kept-alive connection is found once, on its first read.
        conn = request.protocol
        if conn not in self._readers:
            peer = request.transport.get_extra_info("peername") if request.transport else None
            inode = _inode(peer[1], self.port) if peer else None
            self._readers[conn] = _owner(inode, self.candidates()) if inode else None
        pid = self._readers[conn]
        with self._lock:
            self.reads[(name, pid)] += 1
        return web.json_response({"enabled": state == "on"})

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        app = web.Application()
        app.router.add_get("/s/{name}/{state}", self._read)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(runner, sock).start()
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()
