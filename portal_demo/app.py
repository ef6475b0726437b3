"""create_app(data_dir): the demo portal, wiring only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import WSCloseCode, web

from portal_demo import customer, db, office, office_records, sessions
from portal_demo.keys import DB, DB_PATH, LIVE_INTERVAL, SOCKETS


async def _database(app: web.Application) -> AsyncIterator[None]:
    app[DB] = db.connect(Path(app[DB_PATH]))
    yield
    app[DB].close()


async def _close_sockets(app: web.Application) -> None:
    sockets = app[SOCKETS]
    for ws in list(sockets):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


async def settings_api(request: web.Request) -> web.Response:
    """Staff's setting over HTTP, for a gateway configured with an http:// source."""
    enabled, changed_at = db.portal_setting(request.app[DB])
    return web.json_response(
        {"enabled": enabled, "changed_at": changed_at}, headers={"Cache-Control": "no-store"}
    )


def create_app(data_dir: Path, *, live_interval: float = 1.0) -> web.Application:
    """The demo portal; creates data_dir and data_dir/portal.db (schema and seed) if missing.

    `live_interval` is the seconds between class-spaces messages on /live/spaces.
    """
    path = db.init_db(Path(data_dir))
    app = web.Application(middlewares=[office.office_cookie, sessions.customer_session])
    app[DB_PATH] = str(path)
    app[LIVE_INTERVAL] = live_interval
    app[SOCKETS] = set()
    app.cleanup_ctx.append(_database)
    app.on_shutdown.append(_close_sockets)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/settings/customer-portal", settings_api)
    office.add_routes(app.router)
    office_records.add_routes(app.router)
    sessions.add_routes(app.router)
    customer.add_routes(app.router)
    return app
