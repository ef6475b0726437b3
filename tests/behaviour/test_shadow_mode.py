"""Shadow mode through real HTTP: everything forwarded, what enforcing would refuse counted.

Through the proxy (metrics and the access log), forward-auth (the proxy's header and the
decision log) and the plugin (its log): the client gets the upstream's answer, session
cookies are neither withheld nor expired, in-flight exchanges are not cut, and the mode is
said at start, in readyz, in /_gateway/state and in `check`.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from gateway.admin.forward_answer import SHADOW
from gateway.cli.main import main
from gateway.config import config_from_text
from gateway.config.selfcheck import SHADOW_WARNING
from gateway.edge.reload import apply_config
from gateway.web.reminder import REMINDER
from tests.behaviour.test_metrics import scrape, value
from tests.conftest import StartGateway, StartUpstream, config_text, raw_exchange
from tests.plugin_apps import start_plugin_app
from tests.policy.cases import table_config

SHADOW_MODE = {"mode": "shadow"}
COOKIE = "portal_session=s1; theme=dark"
REQUESTS = "portal_gateway_requests_total"


async def test_the_proxy_forwards_everything_and_counts_would_block(
    upstream: StartUpstream, gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "gateway.access")  # the access log on
    up = await upstream()
    gw = await gateway(up.url, portal=SHADOW_MODE)
    await gw.set_enabled(False)
    for method, path in (("GET", "/enroll"), ("POST", "/pay")):
        async with gw.client.request(method, path, headers={"Cookie": COOKIE}) as resp:
            assert resp.status == 200
            assert await resp.text() == f"upstream saw {method} {path}"
            # Nobody is logged out: no Set-Cookie expires the session.
            assert not [c for c in resp.headers.getall("Set-Cookie", []) if "Max-Age=0" in c]
    async with gw.client.get("/office/x") as resp:
        assert resp.status == 200
    # The upstream saw the customers' cookies exactly as they sent them.
    assert [s.header("Cookie") for s in up.seen[:2]] == [[COOKIE], [COOKIE]]
    _, samples = await scrape(gw)
    assert (
        value(samples, REQUESTS, route="customer", portal="customer", decision="would_block") == 2
    )
    assert value(samples, REQUESTS, route="customer", portal="customer", decision="blocked") is None
    assert value(samples, REQUESTS, route="office", portal="office", decision="forwarded") == 1
    lines = [line for line in gw.access_json() if line["path"] in ("/enroll", "/pay")]
    assert [(line["decision"], line["reason"], line["status"]) for line in lines] == [
        ("would_block", "store", 200),
        ("would_block", "store", 200),
    ]


async def test_a_stale_session_is_counted_would_block_and_kept(
    upstream: StartUpstream, gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "gateway.access")
    up = await upstream()
    gw = await gateway(up.url, portal=SHADOW_MODE)
    await gw.set_enabled(False)
    await gw.set_enabled(True)
    # A session from before the disable, never stamped: enforcing would strip it.
    async with gw.client.get("/home", headers={"Cookie": "portal_session=old"}) as resp:
        assert resp.status == 200
        assert not [c for c in resp.headers.getall("Set-Cookie", []) if "Max-Age=0" in c]
    assert up.seen[-1].header("Cookie") == ["portal_session=old"]
    (line,) = [line for line in gw.access_json() if line["path"] == "/home"]
    assert (line["decision"], line["reason"]) == ("would_block", "stale_session_stripped")


async def test_refusals_that_are_not_the_portals_stand(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url, portal=SHADOW_MODE)
    await gw.set_enabled(False)
    async with gw.client.get("/_GATEWAY/state") as resp:
        assert resp.status == 404
    reply = await raw_exchange(
        gw.port, b"GET /a/../b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert reply.startswith(b"HTTP/1.1 400 ")
    assert up.seen == []


async def test_an_exchange_in_flight_is_not_cut_by_a_disable(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"first ")
        entered.set()
        await release.wait()
        await response.write(b"last")
        await response.write_eof()
        return response

    up = await upstream({"/feed": slow})
    gw = await gateway(up.url, portal=SHADOW_MODE)

    async def fetch() -> tuple[int, bytes]:
        async with gw.client.get("/feed") as resp:
            return resp.status, await resp.read()

    task = asyncio.create_task(fetch())
    await entered.wait()
    await gw.set_enabled(False)  # enforce mode would abort this answer now
    release.set()
    assert await task == (200, b"first last")


async def test_forward_auth_allows_and_tells_the_proxy(
    upstream: StartUpstream, gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "gateway.decision")
    extra = {"forward_auth": {"proxy": "nginx"}, "proxy": {"trusted_proxies": ["127.0.0.1/32"]}}
    gw = await gateway((await upstream()).url, extra, portal=SHADOW_MODE)
    await gw.set_enabled(False)
    headers = {
        "X-Original-Method": "POST",
        "X-Original-URI": "/pay",
        "X-Forwarded-Host": "localhost",
        "X-Real-IP": "203.0.113.7",
        "Cookie": COOKIE,
    }
    async with gw.client.get("/_gateway/decision", headers=headers) as resp:
        assert resp.status == 204
        assert resp.headers[SHADOW] == "store"
        # The Cookie line the proxy sends upstream: the client's own.
        assert resp.headers["X-Portal-Gateway-Cookie"] == COOKIE
        assert not [c for c in resp.headers.getall("Set-Cookie", []) if "Max-Age=0" in c]
    assert "shadow: decision would_block, route customer, reason store" in caplog.text


async def test_the_plugin_lets_the_handler_run_and_logs_would_block(
    aiohttp_server: AiohttpServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "gateway.plugin")
    app = await start_plugin_app(aiohttp_server, table_config(mode="shadow"))
    await app.set_enabled(False)
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"http://127.0.0.1:{app.port}/enroll",
            headers={"Host": "portal.example.com", "Cookie": COOKIE},
        ) as resp,
    ):
        assert resp.status == 200
        assert await resp.text() == "app saw GET /enroll"
    (saw,) = app.seen
    assert saw.cookie() == COOKIE
    assert "shadow: decision would_block, route customer, reason store" in caplog.text


async def test_shadow_mode_is_loud(
    upstream: StartUpstream, gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "gateway.shadow")
    gw = await gateway((await upstream()).url, portal=SHADOW_MODE)
    for _ in range(50):  # the reminder task's first line, at start
        if REMINDER in caplog.text:
            break
        await asyncio.sleep(0.01)
    assert REMINDER in caplog.text
    await gw.set_enabled(False)
    async with gw.client.get("/_gateway/readyz") as resp:
        assert await resp.text() == (
            "ready (customer portal disabled, cause store; mode shadow: not enforced)\n"
        )
    async with gw.client.get("/_gateway/state") as resp:
        assert (await resp.json())["mode"] == "shadow"


def test_check_warns_about_shadow_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "shadow.yaml"
    checks = {"self_check": {"customer": "/enroll", "office": "http://office.example/office"}}
    path.write_text(config_text("http://127.0.0.1:8081", portal={**SHADOW_MODE, **checks}))
    main(["check", "--config", str(path)])
    out, err = capsys.readouterr()
    line = path.read_text().splitlines().index("  mode: shadow") + 1
    assert f"{path}:{line}: customer_portal.mode: warning: {SHADOW_WARNING}\n" in err
    assert "mode        shadow: NOT enforced, customers pass (counted as would_block)\n" in out
    assert "self_check  customer GET localhost/enroll, office GET office.example/office\n" in out


async def test_leaving_shadow_mode_while_disabled_ends_what_it_let_in(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    entered, release = asyncio.Event(), asyncio.Event()

    async def feed(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"first ")
        entered.set()
        await release.wait()
        await response.write(b"last")
        await response.write_eof()
        return response

    up = await upstream({"/feed": feed})
    gw = await gateway(up.url, portal=SHADOW_MODE)
    await gw.set_enabled(False)

    relaying = asyncio.Event()

    async def fetch() -> bytes:
        async with gw.client.get("/feed") as resp:
            assert resp.status == 200  # let in by shadow mode
            relaying.set()
            return await resp.read()

    task = asyncio.create_task(fetch())
    await entered.wait()
    await relaying.wait()  # the answer is relaying to the client
    enforce = config_from_text(config_text(up.url, {"admin_public": True}), "test.yaml")
    apply_config(gw.client.app, enforce)  # what a SIGHUP does
    with pytest.raises(aiohttp.ClientPayloadError):
        await task  # the answer relaying is aborted, as at a flip
    release.set()
    async with gw.client.get("/enroll") as resp:
        assert resp.status == 503
