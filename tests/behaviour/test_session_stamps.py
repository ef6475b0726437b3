"""After re-enabling, sessions from before the disable do not come back."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from aiohttp import web
from pytest_aiohttp import AiohttpServer

from gateway.testing import MemorySource
from tests.conftest import (
    DEFAULT_SETTINGS,
    Gateway,
    StartGateway,
    StartUpstream,
    Upstream,
)

STAMP = "portal_gateway_stamp"


class Clock:
    """Wall clock the test moves by hand."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def _portal(upstream: StartUpstream) -> Upstream:
    """An upstream that starts a session on POST /login and reports the cookies it receives."""
    tokens = itertools.count(1)

    async def login(request: web.Request) -> web.StreamResponse:
        response = web.Response(text="welcome")
        response.set_cookie("portal_session", f"s{next(tokens)}", httponly=True)
        return response

    async def home(request: web.Request) -> web.StreamResponse:
        return web.Response(text=request.headers.get("Cookie", "<no cookie>"))

    return await upstream({"/login": login, "/home": home})


def _cookies(response_cookies: list[str]) -> dict[str, str]:
    out = {}
    for line in response_cookies:
        name, _, value = line.split(";", 1)[0].partition("=")
        out[name] = value
    return out


async def _login(gw: Gateway) -> dict[str, str]:
    async with gw.client.post("/login", data=b"user=parent") as resp:
        assert resp.status == 200
        jar = _cookies(resp.headers.getall("Set-Cookie"))
    assert set(jar) == {"portal_session", STAMP}
    return jar


async def _home(gw: Gateway, jar: dict[str, str]) -> tuple[str, list[str]]:
    cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
    async with gw.client.get("/home", headers={"Cookie": cookie}) as resp:
        assert resp.status == 200
        return await resp.text(), resp.headers.getall("Set-Cookie", [])


async def test_login_is_stamped_and_the_stamp_never_reaches_upstream(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    gw = await gateway((await _portal(upstream)).url)
    jar = await _login(gw)
    seen, set_cookies = await _home(gw, jar)
    assert seen == f"portal_session={jar['portal_session']}"
    assert set_cookies == []


async def test_session_from_before_a_disable_is_stripped_and_expired_after_reenable(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    clock = Clock()
    gw = await gateway((await _portal(upstream)).url, wall=clock)
    jar = await _login(gw)
    clock.now += 60
    await gw.set_enabled(False)
    clock.now += 60
    await gw.set_enabled(True)
    seen, set_cookies = await _home(gw, jar)
    assert seen == "<no cookie>"  # the upstream never sees the old session
    assert (
        "portal_session=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/" in set_cookies
    )
    # A fresh login after re-enabling works and stays logged in.
    clock.now += 60
    fresh = await _login(gw)
    assert fresh["portal_session"] != jar["portal_session"]
    seen, set_cookies = await _home(gw, fresh)
    assert seen == f"portal_session={fresh['portal_session']}"


async def test_unstamped_session_passes_until_a_disable_is_seen(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    clock = Clock()
    gw = await gateway((await _portal(upstream)).url, wall=clock)
    seen, _ = await _home(gw, {"portal_session": "from-before-the-gateway"})
    assert seen == "portal_session=from-before-the-gateway"
    await gw.set_enabled(False)
    clock.now += 1
    await gw.set_enabled(True)
    seen, set_cookies = await _home(
        gw, {"portal_session": "from-before-the-gateway", "theme": "dark"}
    )
    assert seen == "theme=dark"
    assert any(c.startswith("portal_session=; Max-Age=0") for c in set_cookies)


async def test_a_stamp_cannot_be_moved_to_another_session(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    clock = Clock()
    gw = await gateway((await _portal(upstream)).url, wall=clock)
    await gw.set_enabled(False)
    clock.now += 1
    await gw.set_enabled(True)
    clock.now += 1
    jar = await _login(gw)
    seen, _ = await _home(gw, {**jar, "portal_session": "stolen-or-forged"})
    assert seen == "<no cookie>"
    seen, _ = await _home(gw, {**jar, STAMP: "garbage"})
    assert seen == "<no cookie>"


async def test_restart_between_disable_and_reenable_still_logs_out(
    upstream: StartUpstream, gateway: StartGateway, tmp_path: Path
) -> None:
    portal = await _portal(upstream)
    state = tmp_path / "state.json"
    settings = f"{DEFAULT_SETTINGS}state_file: {state}\n"
    clock = Clock()
    first = await gateway(portal.url, settings=settings, wall=clock)
    jar = await _login(first)
    clock.now += 10
    await first.set_enabled(False)
    assert json.loads(state.read_text())["last_disabled_at"] == clock.now
    # A new gateway process (same key, same state file) starts while the portal is enabled again.
    clock.now += 10
    second = await gateway(portal.url, settings=settings, wall=clock, enabled=True)
    seen, set_cookies = await _home(second, jar)
    assert seen == "<no cookie>"
    assert any(c.startswith("portal_session=; Max-Age=0") for c in set_cookies)


async def test_two_gateways_agree_using_the_stores_change_time(
    upstream: StartUpstream, gateway: StartGateway, aiohttp_server: AiohttpServer
) -> None:
    store = {"enabled": True, "changed_at": 1_700_000_000.0}

    async def setting(request: web.Request) -> web.Response:
        return web.json_response(store)

    app = web.Application()
    app.router.add_get("/setting", setting)
    server = await aiohttp_server(app)
    url = f"http://127.0.0.1:{server.port}/setting"
    settings = f"source: {url}\nfield: enabled\nchanged_at_field: changed_at\nttl: 2\n"
    portal = await _portal(upstream)
    clock_a, clock_b = Clock(1_700_000_100.0), Clock(1_700_000_100.0)
    a = await gateway(portal.url, settings=settings, wall=clock_a)
    b = await gateway(portal.url, settings=settings, wall=clock_b)
    jar = await _login(a)  # stamped at 1_700_000_100 by gateway A
    # Staff disable at t=200 (the store's own time); B notices a TTL later than A.
    store.update(enabled=False, changed_at=1_700_000_200.0)
    clock_a.now = 1_700_000_201.0
    await a.poller.refresh()
    clock_b.now = 1_700_000_203.0
    await b.poller.refresh()
    store.update(enabled=True, changed_at=1_700_000_300.0)
    await a.poller.refresh()
    await b.poller.refresh()
    # Both record the end of the disable, the store's re-enable time: they agree exactly.
    assert a.poller.state.last_disabled_at == b.poller.state.last_disabled_at == 1_700_000_300.0
    for gw in (a, b):
        seen, _ = await _home(gw, jar)
        assert seen == "<no cookie>"
    # A login after the re-enable, through A, is honoured by B too.
    clock_a.now = clock_b.now = 1_700_000_400.0
    fresh = await _login(a)
    seen, _ = await _home(b, fresh)
    assert seen == f"portal_session={fresh['portal_session']}"


async def test_a_login_made_while_disabled_before_the_gateway_noticed_is_stale_after(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    clock = Clock()
    gw = await gateway((await _portal(upstream)).url, wall=clock)
    assert isinstance(gw.source, MemorySource)
    # Staff switch off; within one TTL the gateway has not read the store yet.
    gw.source.set(False, changed_at=clock.now)
    clock.now += 1
    jar = await _login(gw)
    clock.now += 1
    await gw.poller.refresh()
    clock.now += 60
    await gw.set_enabled(True, changed_at=clock.now)
    seen, _ = await _home(gw, jar)
    assert seen == "<no cookie>"  # the session began while the portal was off
