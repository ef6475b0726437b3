"""Application keys shared by the page modules."""

from __future__ import annotations

import sqlite3

from aiohttp import web

DB = web.AppKey("db", sqlite3.Connection)
DB_PATH = web.AppKey("db_path", str)
LIVE_INTERVAL = web.AppKey("live_interval", float)
SOCKETS: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("sockets")
