"""The plugin in a real aiohttp app: stamps on the app's answers, logins across a disable, the
exchange rules in-process (a handler running, a stream, a WebSocket when the portal turns off).

Every test serves a real app over a socket; a handler that must be caught mid-way waits on an
asyncio.Event, and the test flips the portal only once the handler has reached that point.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiohttp
import aiohttp_session
import pytest
import yaml
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from gateway import plugin
from gateway.config import ConfigError, config_from_text
from gateway.policy import Decision, Gate, GateState, RequestFacts
from gateway.policy.runtime import Runtime
from gateway.settings import SOURCES
from gateway.settings.poller import Poller
from gateway.testing import MemorySource
from tests.conftest import SESSION_KEY, config_text
from tests.plugin_apps import Handler, PluginApp, start_plugin_app
from tests.policy.cases import EXTRA, ROUTES, SHARED, table_config
from tests.rawhttp import connect, read_until_closed

STAMP = "portal_gateway_stamp"


def _set_cookies(response: aiohttp.ClientResponse) -> dict[str, str]:
    return {line.split("=", 1)[0]: line for line in response.headers.getall("Set-Cookie", [])}


async def _login(request: web.Request) -> web.StreamResponse:
    response = web.Response(text="welcome")
    response.set_cookie("portal_session", "s-new", path="/")
    return response


async def _redirecting_login(request: web.Request) -> web.StreamResponse:
    found = web.HTTPFound("/home")
    found.set_cookie("portal_session", "s-redirect", path="/")
    raise found


async def _streamed_login(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    response.set_cookie("portal_session", "s-stream", path="/")
    await response.prepare(request)
    await response.write(b"welcome")
    return response


async def _app(
    aiohttp_server: AiohttpServer, routes: dict[str, Handler] | None = None, extra: str = ""
) -> PluginApp:
    return await start_plugin_app(aiohttp_server, table_config(extra=extra), routes)


async def _get(app: PluginApp, path: str, cookie: str = "", **kw: str) -> aiohttp.ClientResponse:
    headers = {"Host": "portal.example.com", **kw}
    if cookie:
        headers["Cookie"] = cookie
    url = f"http://127.0.0.1:{app.port}{path}"
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session,
        session.get(url, headers=headers, allow_redirects=False) as response,
    ):
        await response.read()
        return response


@pytest.mark.parametrize("login", [_login, _redirecting_login, _streamed_login])
async def test_a_login_answer_is_stamped_and_survives_a_re_enable(
    aiohttp_server: AiohttpServer, login: Handler
) -> None:
    app = await _app(aiohttp_server, {"/login": login})
    answer = await _get(app, "/login")
    cookies = _set_cookies(answer)
    assert set(cookies) == {"portal_session", STAMP}
    session = cookies["portal_session"].split(";")[0]
    stamp = cookies[STAMP].split(";")[0]
    await app.set_enabled(False)
    await app.set_enabled(True)
    app.seen.clear()
    home = await _get(app, "/home", cookie=f"{session}; {stamp}")
    assert home.status == 200
    # Logged in after the disable ended? No: the stamp dates the session before it.
    (saw,) = app.seen
    assert "portal_session" not in saw.cookie()
    assert STAMP not in saw.cookie()
    assert "Max-Age=0" in _set_cookies(home)["portal_session"]


async def test_a_login_after_the_re_enable_passes_to_the_handler(
    aiohttp_server: AiohttpServer,
) -> None:
    app = await _app(aiohttp_server, {"/login": _login})
    await app.set_enabled(False)
    await app.set_enabled(True)
    cookies = _set_cookies(await _get(app, "/login"))
    session, stamp = (cookies[n].split(";")[0] for n in ("portal_session", STAMP))
    app.seen.clear()
    home = await _get(app, "/home", cookie=f"{session}; {stamp}; theme=dark")
    assert home.status == 200
    assert app.seen[0].cookie() == f"{session}; theme=dark"  # the stamp is the gate's own
    assert "Set-Cookie" not in home.headers


async def test_while_disabled_customers_get_the_page_and_office_the_app(
    aiohttp_server: AiohttpServer,
) -> None:
    app = await _app(aiohttp_server)
    await app.set_enabled(False)
    page = await _get(app, "/enroll", cookie="portal_session=s1; sessionid=st")
    assert page.status == 503
    assert page.headers["Retry-After"] == "120"
    assert page.headers["Cache-Control"] == "no-store"
    assert "Max-Age=0" in _set_cookies(page)["portal_session"]
    assert "sessionid" not in _set_cookies(page)  # shared with staff: staff stay logged in
    as_json = await _get(app, "/enroll", Accept="application/json")
    assert as_json.status == 503
    assert as_json.content_type == "application/json"
    office = await _get(app, "/office/families", cookie="portal_session=s1; sessionid=st")
    assert office.status == 200
    assert [s.path for s in app.seen] == ["/office/families"]
    assert app.seen[0].cookie() == "portal_session=s1; sessionid=st"


async def test_the_reserved_prefix_never_reaches_the_app(aiohttp_server: AiohttpServer) -> None:
    app = await _app(aiohttp_server)
    for path in ("/_gateway/status", "/%5Fgateway/metrics", "/_GATEWAY/x"):
        assert (await _get(app, path)).status == 404
    assert app.seen == []


class _BrokenGate(Gate):
    def decide(self, facts: RequestFacts, state: GateState) -> Decision:
        raise RuntimeError("boom")


async def test_a_failed_decision_fails_closed(aiohttp_server: AiohttpServer) -> None:
    app = await _app(aiohttp_server)
    config = app.gate.config
    app.gate.runtime = Runtime(config, _BrokenGate(config, SESSION_KEY.encode()))
    answer = await _get(app, "/office/x")
    assert answer.status == 500
    assert app.seen == []


async def test_setup_reads_a_config_file(tmp_path: Path, aiohttp_server: AiohttpServer) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(
        config_text("http://127.0.0.1:1", EXTRA, routes=ROUTES, portal=SHARED), encoding="utf-8"
    )
    app = web.Application()
    gate = plugin.setup(app, str(path))
    assert [r.name for r in gate.config.routes] == ["public", "office", "office-host", "customer"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("listen: [\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        plugin.setup(web.Application(), bad)
    assert str(bad) in str(caught.value)


async def test_reload_swaps_the_routes(aiohttp_server: AiohttpServer) -> None:
    app = await _app(aiohttp_server)
    await app.set_enabled(False)
    assert (await _get(app, "/office/x")).status == 200
    customer_only = [
        {**route, "portal": "customer"} if route["portal"] == "office" else route
        for route in yaml.safe_load(ROUTES)["routes"]
    ]
    app.gate.reload(
        config_from_text(
            config_text("http://127.0.0.1:1", EXTRA, routes=customer_only, portal=SHARED),
            "reload.yaml",
            SOURCES,
        )
    )
    assert (await _get(app, "/office/x")).status == 503


async def test_a_sub_application_is_gated_too(aiohttp_server: AiohttpServer) -> None:
    sub = web.Application()
    seen: list[str] = []

    async def page(request: web.Request) -> web.StreamResponse:
        seen.append(request.headers.get("Cookie", ""))
        response = web.Response(text="sub")
        response.set_cookie("portal_session", "s-sub")
        return response

    sub.router.add_get("/page", page)
    app = web.Application()
    app.add_subapp("/shop", sub)
    plugin.setup(app, table_config(), poller=None)
    server = await aiohttp_server(app)
    url = f"http://127.0.0.1:{server.port}/shop/page"
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session,
        session.get(url, headers={"Host": "portal.example.com"}) as response,
    ):
        assert response.status == 200  # served only once the store has been read
        assert STAMP in _set_cookies(response)
    assert seen == [""]


# -- the exchange rules in-process ---------------------------------------------------------


class Held:
    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.outcome = "running"

    def handler(self, answer: str = "done") -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            await request.read()
            self.entered.set()
            try:
                await self.release.wait()
            except asyncio.CancelledError:
                self.outcome = "cancelled"
                raise
            self.outcome = "finished"
            response = web.Response(text=answer)
            response.set_cookie("portal_session", "s-late")
            return response

        return handle


async def _send(app: PluginApp, method: str, path: str, body: bytes = b"") -> bytes:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: portal.example.com\r\nCookie: portal_session=s1\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    async with connect(app.port) as (reader, writer):
        writer.write(head.encode() + body)
        received, closed = await read_until_closed(reader, 5.0)
        assert closed
        return received


async def test_a_safe_handler_still_running_is_cancelled_and_answers_the_page(
    aiohttp_server: AiohttpServer,
) -> None:
    held = Held()
    app = await _app(aiohttp_server, {"/feed": held.handler()})
    reply = asyncio.create_task(_send(app, "GET", "/feed"))
    await held.entered.wait()
    await app.set_enabled(False)
    received = await reply
    assert received.startswith(b"HTTP/1.1 503 ")
    assert held.outcome == "cancelled"
    head = received.split(b"\r\n\r\n", 1)[0].decode()
    cookies = [line for line in head.split("\r\n") if line.startswith("Set-Cookie:")]
    assert cookies == [
        "Set-Cookie: portal_session=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/"
    ]
    assert len(app.gate.inflight) == 0


async def test_a_handler_that_may_change_state_finishes_but_its_answer_is_the_page(
    aiohttp_server: AiohttpServer,
) -> None:
    held = Held()
    app = await _app(aiohttp_server, {"/pay": held.handler("paid")})
    reply = asyncio.create_task(_send(app, "POST", "/pay", b"amount=5"))
    await held.entered.wait()
    await app.set_enabled(False)
    await asyncio.sleep(0.05)
    assert held.outcome == "running"  # not cancelled mid-work
    held.release.set()
    received = await reply
    assert held.outcome == "finished"
    assert received.startswith(b"HTTP/1.1 503 ")
    assert b"paid" not in received
    assert b"s-late" not in received  # the session the late answer set never goes out


@pytest.mark.parametrize("late", ["raises", "streams"])
async def test_a_late_answer_of_any_kind_becomes_the_page(
    aiohttp_server: AiohttpServer, late: str
) -> None:
    entered, release = asyncio.Event(), asyncio.Event()

    async def pay(request: web.Request) -> web.StreamResponse:
        await request.read()
        entered.set()
        await release.wait()
        if late == "raises":
            found = web.HTTPSeeOther("/receipt")
            found.set_cookie("portal_session", "s-late")
            raise found
        response = web.StreamResponse()
        await response.prepare(request)  # withdrawn: the middleware answers instead
        await response.write(b"receipt")
        return response

    app = await _app(aiohttp_server, {"/pay": pay})
    reply = asyncio.create_task(_send(app, "POST", "/pay", b"amount=5"))
    await entered.wait()
    await app.set_enabled(False)
    release.set()
    received = await reply
    assert received.startswith(b"HTTP/1.1 503 ")
    assert b"receipt" not in received
    assert b"s-late" not in received


def _streamer(started: asyncio.Event, stop: asyncio.Event, outcome: list[str]) -> Handler:
    async def stream(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b"first chunk\n")
        started.set()
        try:
            await stop.wait()
            await response.write(b"last chunk\n")
            await response.write_eof()
        except BaseException as exc:
            outcome.append(type(exc).__name__)
            raise
        outcome.append("complete")
        return response

    return stream


async def test_a_stream_is_cut_at_the_switch(aiohttp_server: AiohttpServer) -> None:
    started, stop, outcome = asyncio.Event(), asyncio.Event(), list[str]()
    app = await _app(aiohttp_server, {"/events": _streamer(started, stop, outcome)})
    reply = asyncio.create_task(_send(app, "GET", "/events"))
    await started.wait()
    await app.set_enabled(False)
    received = await reply
    assert received.startswith(b"HTTP/1.1 200 ")
    assert b"first chunk" in received
    assert not received.endswith(b"0\r\n\r\n")  # never a clean end: the client knows
    assert outcome == ["CancelledError"]


async def test_a_committed_stream_gets_read_timeout_to_finish(
    aiohttp_server: AiohttpServer,
) -> None:
    started, stop, outcome = asyncio.Event(), asyncio.Event(), list[str]()
    app = await _app(
        aiohttp_server,
        {"/export": _streamer(started, stop, outcome)},
        extra="proxy:\n  read_timeout: 5\n",
    )
    reply = asyncio.create_task(_send(app, "POST", "/export", b"x=1"))
    await started.wait()
    await app.set_enabled(False)
    await asyncio.sleep(0.05)
    stop.set()
    received = await reply
    assert b"last chunk" in received
    assert received.endswith(b"0\r\n\r\n")
    assert outcome == ["complete"]


async def test_a_committed_stream_past_read_timeout_is_cut(
    aiohttp_server: AiohttpServer,
) -> None:
    started, stop, outcome = asyncio.Event(), asyncio.Event(), list[str]()
    app = await _app(
        aiohttp_server,
        {"/export": _streamer(started, stop, outcome)},
        extra="proxy:\n  read_timeout: 0.2\n",
    )
    reply = asyncio.create_task(_send(app, "POST", "/export", b"x=1"))
    await started.wait()
    await app.set_enabled(False)
    received = await reply  # stop is never set: the grace runs out
    assert b"last chunk" not in received
    assert outcome == ["CancelledError"]


async def test_a_websocket_is_closed_with_1013(aiohttp_server: AiohttpServer) -> None:
    opened = asyncio.Event()
    ended: list[str] = []

    async def socket(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        opened.set()
        async for message in ws:
            await ws.send_str(f"echo {message.data}")
        ended.append("returned")
        return ws

    app = await _app(aiohttp_server, {"/live": socket})
    url = f"http://127.0.0.1:{app.port}/live"
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session,
        session.ws_connect(url, headers={"Host": "portal.example.com"}) as ws,
    ):
        await opened.wait()
        await ws.send_str("hi")
        assert (await ws.receive_str()) == "echo hi"
        await app.set_enabled(False)
        message = await ws.receive()
        assert message.type is aiohttp.WSMsgType.CLOSE
        assert message.data == aiohttp.WSCloseCode.TRY_AGAIN_LATER
        assert message.extra == "customer portal disabled"
    await asyncio.sleep(0.05)
    assert ended == ["returned"]


async def test_an_office_handler_running_at_the_switch_is_untouched(
    aiohttp_server: AiohttpServer,
) -> None:
    held = Held()
    app = await _app(aiohttp_server, {"/office": held.handler("office answer")})
    reply = asyncio.create_task(_send(app, "GET", "/office/report"))
    await held.entered.wait()
    await app.set_enabled(False)
    held.release.set()
    received = await reply
    assert received.startswith(b"HTTP/1.1 200 ")
    assert b"office answer" in received
    assert held.outcome == "finished"


# aiohttp-session 2.12 stores its state under str keys, which aiohttp 3.14 warns about.
@pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey")
async def test_the_apps_session_middleware_sees_the_cookie_the_gate_leaves(
    aiohttp_server: AiohttpServer,
) -> None:
    # aiohttp-session, added before setup(): it runs inside the gate, so a stale session never
    # loads, and the cookie it sets on login is stamped like a handler's own.
    storage = aiohttp_session.SimpleCookieStorage(cookie_name="portal_session")
    eager: list[str] = []  # what an app middleware that reads cookies itself saw

    @web.middleware
    async def reads_cookies(request: web.Request, handler: Handler) -> web.StreamResponse:
        eager.append(request.headers.get("Cookie", ""))
        return await handler(request)

    app = web.Application(middlewares=[reads_cookies, aiohttp_session.session_middleware(storage)])

    async def login(request: web.Request) -> web.StreamResponse:
        session = await aiohttp_session.new_session(request)
        session["user"] = "ana"
        return web.Response(text="welcome")

    async def home(request: web.Request) -> web.StreamResponse:
        session = await aiohttp_session.get_session(request)
        return web.Response(text=f"user={session.get('user')}")

    app.router.add_get("/login", login)
    app.router.add_get("/home", home)
    source = MemorySource(True)
    config = table_config()
    poller = Poller(source, config.settings, jitter=lambda ttl: 0.0)
    plugin.setup(app, config, poller=poller)
    server = await aiohttp_server(app)
    base = f"http://127.0.0.1:{server.port}"
    host = {"Host": "portal.example.com"}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(f"{base}/login", headers=host) as resp:
            assert STAMP in _set_cookies(resp)
        async with browser.get(f"{base}/home", headers=host) as resp:
            assert await resp.text() == "user=ana"
        kept = "; ".join(f"{c.key}={c.value}" for c in browser.cookie_jar)
        for enabled in (False, True):
            source.set(enabled)
            await poller.refresh()
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as replay,
        replay.get(f"{base}/home", headers={**host, "Cookie": kept}) as resp,
    ):
        assert await resp.text() == "user=None"
    assert "portal_session" in eager[1]
    assert "portal_session" not in eager[-1]


@pytest.mark.parametrize(
    ("trusted", "proto", "secure"),
    [("[127.0.0.1/32]", "https", True), ("[]", "https", False), ("[127.0.0.1/32]", "http", False)],
)
async def test_a_trusted_proxys_https_makes_the_stamp_secure(
    aiohttp_server: AiohttpServer, trusted: str, proto: str, secure: bool
) -> None:
    app = await _app(
        aiohttp_server, {"/login": _login}, extra=f"proxy:\n  trusted_proxies: {trusted}\n"
    )
    answer = await _get(app, "/login", **{"X-Forwarded-Proto": proto})
    assert ("; Secure" in _set_cookies(answer)[STAMP]) is secure


async def test_shadow_mode_cuts_no_stream_until_it_is_left(aiohttp_server: AiohttpServer) -> None:
    started, stop, outcome = asyncio.Event(), asyncio.Event(), list[str]()
    config = table_config(mode="shadow")
    app = await start_plugin_app(
        aiohttp_server, config, {"/events": _streamer(started, stop, outcome)}
    )
    reply = asyncio.create_task(_send(app, "GET", "/events"))
    await started.wait()
    await app.set_enabled(False)  # shadow mode: nothing cut
    await asyncio.sleep(0)
    assert outcome == [] and not reply.done()
    app.gate.reload(table_config(mode="enforce"))  # out of shadow mode while disabled
    received = await reply
    assert b"first chunk" in received and not received.endswith(b"0\r\n\r\n")
    assert outcome == ["CancelledError"]
    assert (await _get(app, "/enroll")).status == 503


async def test_the_self_check_is_not_run_in_plugin_mode(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "gateway.plugin")
    checks = {"self_check": {"customer": "/enroll", "office": "/office/x"}}
    path = tmp_path / "gateway.yaml"
    path.write_text(
        config_text("http://127.0.0.1:1", EXTRA, routes=ROUTES, portal={**checks}),
        encoding="utf-8",
    )
    plugin.setup(web.Application(), path)
    assert "customer_portal.self_check: not run in plugin mode" in caplog.text
