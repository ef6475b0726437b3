"""The live class-spaces counter: a WebSocket that pushes spaces per class, and its page part."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from portal_demo import db
from portal_demo.keys import DB, LIVE_INTERVAL, SOCKETS
from portal_demo.layout import esc

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Updates the counters; on close says so and keeps the close code for people and tests.
SCRIPT = """<script>
(function () {
  var box = document.getElementById("live-spaces");
  var state = document.getElementById("live-state");
  if (!box || !window.WebSocket) { return; }
  var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/live/spaces");
  ws.onmessage = function (event) {
    var data = JSON.parse(event.data);
    data.classes.forEach(function (c) {
      var cell = box.querySelector('[data-class-id="' + c.id + '"]');
      if (cell) { cell.textContent = String(c.spaces); }
    });
    state.textContent = "Live";
    box.setAttribute("data-updated", String(Date.now()));
  };
  ws.onclose = function (event) {
    state.textContent = "Live updates stopped";
    state.setAttribute("data-close-code", String(event.code));
    box.setAttribute("data-close-code", String(event.code));
  };
})();
</script>
"""


def snapshot(conn: sqlite3.Connection) -> dict[str, Any]:
    return {
        "classes": [
            {"id": r["id"], "name": r["name"], "spaces": r["spaces"], "capacity": r["capacity"]}
            for r in db.rows(conn, "SELECT id, name, spaces, capacity FROM classes ORDER BY id")
        ]
    }


def counter(conn: sqlite3.Connection) -> str:
    """The home page's counter, filled at render time and kept current by SCRIPT."""
    items = "".join(
        f'<li>{esc(c["name"])}: <strong data-class-id="{c["id"]}">{c["spaces"]}</strong>'
        f" of {c['capacity']} spaces left</li>"
        for c in snapshot(conn)["classes"]
    )
    return (
        '<section id="live-spaces" aria-labelledby="h-live"><h2 id="h-live">Spaces right now</h2>'
        f'<ul>{items}</ul><p id="live-state" class="muted" aria-live="polite">Connecting</p></section>'
    )


async def _push(ws: web.WebSocketResponse, conn: sqlite3.Connection, interval: float) -> None:
    with contextlib.suppress(ConnectionError):
        while not ws.closed:
            await ws.send_json(snapshot(conn))
            await asyncio.sleep(interval)


async def spaces_socket(request: web.Request) -> web.WebSocketResponse:
    """Sends the spaces per class at once, then every LIVE_INTERVAL seconds until closed."""
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    request.app[SOCKETS].add(ws)
    pusher = asyncio.create_task(_push(ws, request.app[DB], request.app[LIVE_INTERVAL]))
    try:
        async for _ in ws:
            pass  # the client has nothing to say; reading lets its close frame through
    finally:
        pusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pusher
        request.app[SOCKETS].discard(ws)
    return ws
