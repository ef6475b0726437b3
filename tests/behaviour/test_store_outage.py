"""Issue #10: a store outage shows as `store_unavailable` everywhere but to customers.

Staff switching the portal off and the gateway failing to read the store give customers the
same 503; the state endpoint, readyz, `status --gateway`, the logs and the access log tell
the two apart.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from gateway.cli.main import main
from gateway.edge.keys import ADMIN_APP
from gateway.edge.server import make_runner
from tests.conftest import Gateway, StartGateway, StartUpstream
from tests.processes import free_port

CHANGED = "2026-12-01T09:15:00Z"  # when staff last changed the setting, as the store says
CHANGED_SHOWN = "2026-12-01T09:15:00.000Z"


class Store:
    """The portal's settings API (a real server): its value, its change time, or a 500."""

    def __init__(self) -> None:
        self.document: dict[str, Any] = {"enabled": True, "changed_at": CHANGED}
        self.down = False

    async def handle(self, request: web.Request) -> web.Response:
        if self.down:
            return web.Response(status=500, text="database is gone")
        return web.json_response(self.document)


@pytest.fixture
async def outage(
    upstream: StartUpstream, gateway: StartGateway, aiohttp_server: AiohttpServer
) -> AsyncIterator[tuple[Gateway, Store, str]]:
    store = Store()
    app = web.Application()
    app.router.add_get("/setting", store.handle)
    server = await aiohttp_server(app)
    admin_port = free_port()
    gw = await gateway(
        (await upstream()).url,
        f"admin_listen: 127.0.0.1:{admin_port}\n",
        settings=(
            f"source: http://127.0.0.1:{server.port}/setting\nfield: enabled\n"
            "changed_at_field: changed_at\nttl: 30\ntimeout: 1s\non_error: disabled\n"
        ),
    )
    runner = make_runner(gw.client.app[ADMIN_APP], gw.config)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", admin_port).start()
    yield gw, store, f"http://127.0.0.1:{admin_port}"
    await runner.cleanup()


async def customer_answer(gw: Gateway) -> tuple[int, dict[str, str], bytes]:
    headers = {"Cookie": "portal_session=s1", "Accept": "text/html"}
    async with gw.client.get("/enroll", headers=headers) as resp:
        shown = {k: v for k, v in resp.headers.items() if k not in ("Date", "X-Request-ID")}
        return resp.status, shown, await resp.read()


async def admin(origin: str, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(origin + path) as resp:
        return resp.status, await resp.text()


async def status(origin: str) -> int:
    return await asyncio.to_thread(main, ["status", "--gateway", origin])


async def test_staff_off_and_store_down_look_alike_to_customers_and_nowhere_else(
    outage: tuple[Gateway, Store, str],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    gw, store, origin = outage
    caplog.set_level(logging.INFO)
    assert (await customer_answer(gw))[0] == 200

    # Staff switch the portal off.
    store.document = {"enabled": False, "changed_at": CHANGED}
    await gw.poller.refresh()
    staff_off = await customer_answer(gw)
    code, text = await admin(origin, "/_gateway/state")
    by_staff = json.loads(text)
    assert (code, by_staff["effective"], by_staff["cause"], by_staff["store_value"]) == (
        200,
        "disabled",
        "store",
        "disabled",
    )
    assert await admin(origin, "/_gateway/readyz") == (
        200,
        "ready (customer portal disabled, cause store)\n",
    )
    assert await status(origin) == 0
    assert capsys.readouterr().out.splitlines() == [
        "You are currently NOT using the Customer Portal.",
        f"cause: store (store last said: disabled, changed {CHANGED_SHOWN})",
    ]

    # Staff switch it on again; then the store goes down (on_error: disabled).
    store.document = {"enabled": True, "changed_at": CHANGED}
    await gw.poller.refresh()
    assert (await customer_answer(gw))[0] == 200
    store.down = True
    await gw.poller.refresh()
    store_down = await customer_answer(gw)

    # Customers cannot tell: the same status, headers (cookies expired alike) and page.
    assert staff_off[0] == store_down[0] == 503
    assert staff_off == store_down
    assert "portal_session=" in store_down[1]["Set-Cookie"]

    # Everything else can.
    code, text = await admin(origin, "/_gateway/state")
    down = json.loads(text)
    assert (code, down["effective"], down["cause"]) == (200, "disabled", "store_unavailable")
    assert (down["store_value"], down["store_changed_at"]) == ("enabled", CHANGED_SHOWN)
    assert down["last_error"].endswith("/setting: HTTP 500")
    assert await admin(origin, "/_gateway/readyz") == (
        200,  # a store outage never takes the replica (and the Office Portal) out
        "ready (customer portal disabled, cause store_unavailable)\n",
    )
    assert await status(origin) == 0
    assert capsys.readouterr().out.splitlines() == [
        "You are currently NOT using the Customer Portal.",
        f"cause: store_unavailable (store last said: enabled, changed {CHANGED_SHOWN})",
        f"error: {down['last_error']}",
    ]
    settings_log = [r.getMessage() for r in caplog.records if r.name == "gateway.settings"]
    assert f"settings read failed: {down['last_error']} (on_error: disabled)" in settings_log
    assert settings_log[-1].startswith("customer portal disabled, cause store_unavailable")
    refusals = [
        line for line in gw.access_json() if (line["path"], line["status"]) == ("/enroll", 503)
    ]
    # The same decision for customers; the cause in the line's reason.
    assert [(line["decision"], line["reason"]) for line in refusals] == [
        ("blocked", "store"),
        ("blocked", "store_unavailable"),
    ]
