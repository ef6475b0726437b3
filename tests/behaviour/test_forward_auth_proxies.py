"""Forward-auth through real nginx and real Caddy, each run from its example file."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from gateway.policy.preview import PreviewCodec
from gateway.settings.control import Control, save_control
from tests.conftest import SESSION_KEY, StartUpstream, Upstream
from tests.edge_proxies import (
    SETTINGS_PATH,
    ForwardAuthGateway,
    caddy_in_front,
    forward_auth_gateway,
    nginx_in_front,
)

MESSAGE = "Our Customer Portal is currently unavailable. Please check back later."
EXPIRED = "Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/"
FrontEnd = Callable[[Path, int, int], AbstractAsyncContextManager[int]]
PROXIES = [
    pytest.param("nginx", nginx_in_front, marks=pytest.mark.nginx, id="nginx"),
    pytest.param("caddy", caddy_in_front, marks=pytest.mark.caddy, id="caddy"),
]


@dataclass
class Stack:
    """Client -> proxy (from its example) -> portal, the proxy asking the gateway first."""

    url: str
    portal: Upstream
    gateway: ForwardAuthGateway
    store: dict[str, object]

    async def set_enabled(self, enabled: bool) -> None:
        # As the portal's settings API: the value and when staff changed it.
        self.store.update(enabled=enabled, changed_at=time.time())
        await self.gateway.refresh()

    def seen(self) -> list[str]:
        """What reached the portal (settings reads aside) as `METHOD path cookie`."""
        return [
            f"{s.method} {s.raw_path} {';'.join(s.header('Cookie')) or '-'}"
            for s in self.portal.seen
            if s.raw_path != SETTINGS_PATH
        ]


@asynccontextmanager
async def stack(
    upstream: StartUpstream,
    tmp_path: Path,
    proxy: str,
    front: FrontEnd,
    session_key: str | None = None,
    settings_keys: dict[str, object] | None = None,
) -> AsyncIterator[Stack]:
    store: dict[str, object] = {"enabled": True, "changed_at": time.time() - 3600}

    async def settings(request: web.Request) -> web.StreamResponse:
        return web.json_response(store)

    async def login(request: web.Request) -> web.StreamResponse:
        response = web.Response(text="welcome")
        response.set_cookie("portal_session", "s-" + request.query.get("who", "x"), path="/")
        return response

    async def live(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            await ws.send_str(f"echo {message.data}")
        return ws

    # A deployment's session key, where the test needs one (preview links).
    keys: dict[str, dict[str, object]] | None = (
        {"customer_portal": {"session_key": session_key}} if session_key else None
    )
    if settings_keys:
        keys = {**(keys or {}), "settings": settings_keys}
    portal = await upstream({SETTINGS_PATH: settings, "/login": login, "/live": live})
    assert portal.server.port is not None
    async with (
        forward_auth_gateway(proxy, portal.server.port, keys) as gw,
        front(tmp_path, gw.admin_port, portal.server.port) as port,
    ):
        yield Stack(f"http://127.0.0.1:{port}", portal, gw, store)


@pytest.mark.parametrize(("proxy", "front"), PROXIES)
async def test_disabled_customers_get_the_page_and_lose_their_session(
    upstream: StartUpstream, tmp_path: Path, proxy: str, front: FrontEnd
) -> None:
    async with stack(upstream, tmp_path, proxy, front) as s, aiohttp.ClientSession() as http:
        async with http.get(f"{s.url}/pay", headers={"Cookie": "x=1"}) as r:
            assert (r.status, await r.text()) == (200, "upstream saw GET /pay")
        await s.set_enabled(False)
        async with http.post(
            f"{s.url}/pay?amount=10",
            data=b"amount=10",
            headers={"Cookie": "portal_session=a; remember_me=b; x=1"},
        ) as r:
            assert r.status == 503
            assert r.headers["Retry-After"] == "120"
            assert r.headers["Cache-Control"] == "no-store"
            assert r.headers["Content-Type"].startswith("text/html")
            assert MESSAGE in await r.text()
            assert r.headers.getall("Set-Cookie") == [
                f"portal_session=; {EXPIRED}",
                f"remember_me=; {EXPIRED}",
            ]
        async with http.get(f"{s.url}/account", headers={"Accept": "application/json"}) as r:
            assert (r.status, r.headers["Content-Type"]) == (503, "application/json; charset=utf-8")
            assert json.loads(await r.text())["error"] == "customer_portal_unavailable"
    # The disabled requests never reached the portal.
    assert s.seen() == ["GET /pay x=1"]


@pytest.mark.parametrize(("proxy", "front"), PROXIES)
async def test_office_and_public_routes_pass_untouched_while_disabled(
    upstream: StartUpstream, tmp_path: Path, proxy: str, front: FrontEnd
) -> None:
    async with stack(upstream, tmp_path, proxy, front) as s, aiohttp.ClientSession() as http:
        await s.set_enabled(False)
        cookie = {"Cookie": "portal_session=staff; office_session=o"}
        for path in ("/office/families?x=1", "/favicon.ico", "/robots.txt"):
            async with http.get(f"{s.url}{path}", headers=cookie) as r:
                assert r.status == 200, path
                assert "Set-Cookie" not in r.headers
    assert s.seen() == [
        "GET /office/families?x=1 portal_session=staff; office_session=o",
        "GET /favicon.ico portal_session=staff; office_session=o",
        "GET /robots.txt portal_session=staff; office_session=o",
    ]


@pytest.mark.parametrize(("proxy", "front"), PROXIES)
async def test_client_sent_forwarded_headers_do_not_make_a_customer_request_office(
    upstream: StartUpstream, tmp_path: Path, proxy: str, front: FrontEnd
) -> None:
    spoofs = [
        {"X-Original-URI": "/office/families", "X-Original-Method": "GET"},
        {"X-Forwarded-Uri": "/office/families", "X-Forwarded-Method": "GET"},
        {"X-Forwarded-Host": "office.example.com", "X-Original-Host": "office.example.com"},
        {"X-Original-URL": "/office/families", "Forwarded": "host=office.example.com"},
        # Two lines of a family header the proxy writes: the proxy's replaces both.
        {"X-Forwarded-Uri": "/office", "X-Original-URI": "/office, /office"},
    ]
    async with stack(upstream, tmp_path, proxy, front) as s, aiohttp.ClientSession() as http:
        await s.set_enabled(False)
        for headers in spoofs:
            async with http.get(f"{s.url}/pay", headers=headers) as r:
                assert r.status == 503, headers
                assert MESSAGE in await r.text()
        await s.set_enabled(True)
        async with http.get(
            f"{s.url}/office/x", headers={"X-Original-URL": "/pay", "X-Forwarded-Uri": "/pay"}
        ) as r:
            assert r.status == 200
    # Office requests reach the portal without the client's routing overrides.
    office = [x for x in s.portal.seen if x.raw_path == "/office/x"]
    assert [(x.header("X-Original-URL"), x.header("X-Forwarded-Uri")) for x in office] == [([], [])]
    assert s.seen() == ["GET /office/x -"]


@pytest.mark.parametrize(("proxy", "front"), PROXIES)
async def test_the_portals_own_cookies_pass_through_beside_the_stamp(
    upstream: StartUpstream, tmp_path: Path, proxy: str, front: FrontEnd
) -> None:
    async with stack(upstream, tmp_path, proxy, front) as s, browser() as http:
        async with http.post(f"{s.url}/login?who=ann") as r:
            assert (r.status, await r.text()) == (200, "welcome")
            # The portal's own line, and the gateway's stamp beside it (forward-auth mode).
            lines = sorted(r.headers.getall("Set-Cookie"))
            assert lines[0].startswith("portal_gateway_stamp=")
            assert lines[1:] == ["portal_session=s-ann; Path=/"]
        async with http.get(f"{s.url}/account") as r:
            assert r.status == 200
    # The stamp is the gateway's: the portal never sees it.
    assert s.seen() == ["POST /login?who=ann -", "GET /account portal_session=s-ann"]


def browser() -> aiohttp.ClientSession:
    """A client that keeps and expires cookies as a browser does (for 127.0.0.1 too)."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def jar(http: aiohttp.ClientSession) -> dict[str, str]:
    return {c.key: c.value for c in http.cookie_jar}


@pytest.mark.parametrize(("proxy", "front"), PROXIES)
async def test_a_session_that_stayed_away_during_a_disable_is_refused_after_it(
    upstream: StartUpstream, tmp_path: Path, proxy: str, front: FrontEnd
) -> None:
    async with stack(upstream, tmp_path, proxy, front) as s, browser() as ann, browser() as staff:
        await ann.post(f"{s.url}/login?who=ann")
        await ann.get(f"{s.url}/account")  # keeps browsing
        staff.cookie_jar.update_cookies({"portal_session": "staff-1", "office_session": "o"})
        await staff.get(f"{s.url}/office/families")
        await s.set_enabled(False)
        await staff.get(f"{s.url}/office/families")  # staff work on while disabled
        await s.set_enabled(True)  # ann stayed away the whole time
        async with ann.get(f"{s.url}/account") as r:
            assert r.status == 200
            assert f"portal_session=; {EXPIRED}" in r.headers.getall("Set-Cookie")
        assert "portal_session" not in jar(ann)
        await staff.get(f"{s.url}/office/families")
        assert jar(staff)["portal_session"] == "staff-1"
    assert s.seen() == [
        "POST /login?who=ann -",
        "GET /account portal_session=s-ann",
        "GET /office/families office_session=o; portal_session=staff-1",
        "GET /office/families office_session=o; portal_session=staff-1",
        # The old session never reaches the portal again.
        "GET /account -",
        "GET /office/families office_session=o; portal_session=staff-1",
    ]


@pytest.mark.parametrize(("proxy", "front"), PROXIES)
async def test_a_login_with_no_request_after_it_is_refused_after_a_disable(
    upstream: StartUpstream, tmp_path: Path, proxy: str, front: FrontEnd
) -> None:
    async with stack(upstream, tmp_path, proxy, front) as s, browser() as ann:
        await ann.post(f"{s.url}/login?who=ann")
        assert jar(ann)["portal_session"] == "s-ann"
        await s.set_enabled(False)
        await s.set_enabled(True)
        async with ann.get(f"{s.url}/account") as r:
            assert r.status == 200
            assert f"portal_session=; {EXPIRED}" in r.headers.getall("Set-Cookie")
        assert "portal_session" not in jar(ann)
        # A new login after the re-enable works, and keeps working.
        await ann.post(f"{s.url}/login?who=ann2")
        await ann.get(f"{s.url}/account")
        await ann.get(f"{s.url}/orders")
        assert jar(ann)["portal_session"] == "s-ann2"
    assert s.seen() == [
        "POST /login?who=ann -",
        "GET /account -",
        "POST /login?who=ann2 -",
        "GET /account portal_session=s-ann2",
        "GET /orders portal_session=s-ann2",
    ]


@pytest.mark.parametrize(("proxy", "front"), PROXIES)
async def test_a_websocket_is_asked_about_like_any_request(
    upstream: StartUpstream, tmp_path: Path, proxy: str, front: FrontEnd
) -> None:
    async with stack(upstream, tmp_path, proxy, front) as s, aiohttp.ClientSession() as http:
        async with http.ws_connect(f"{s.url}/live") as ws:
            await ws.send_str("hi")
            assert (await ws.receive_str()) == "echo hi"
        await s.set_enabled(False)
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(f"{s.url}/live")
        assert refused.value.status == 503
    assert s.seen() == ["GET /live -"]


@pytest.mark.caddy
async def test_behind_caddy_a_login_wins_over_the_expiry_of_the_session_it_replaces(
    upstream: StartUpstream, tmp_path: Path
) -> None:
    # Caddy adds the gateway's lines before the portal's, so the browser applies the new
    # session last. (nginx adds them after: README, "What each proxy cannot do".)
    async with stack(upstream, tmp_path, "caddy", caddy_in_front) as s, browser() as ann:
        await ann.post(f"{s.url}/login?who=ann")
        await s.set_enabled(False)
        await s.set_enabled(True)
        async with ann.post(f"{s.url}/login?who=ann2") as r:  # still carries the old session
            lines = r.headers.getall("Set-Cookie")
            assert lines.index(f"portal_session=; {EXPIRED}") < lines.index(
                "portal_session=s-ann2; Path=/"
            )
        await ann.get(f"{s.url}/account")
    assert s.seen()[-2:] == ["POST /login?who=ann2 -", "GET /account portal_session=s-ann2"]


@pytest.mark.parametrize(("proxy", "front"), PROXIES)
async def test_a_preview_link_opened_through_the_proxy_passes_a_disabled_customer_route(
    upstream: StartUpstream, tmp_path: Path, proxy: str, front: FrontEnd
) -> None:
    codec = PreviewCodec(SESSION_KEY.encode())
    token = codec.issue(time.time() + 600, 0)
    async with (
        stack(upstream, tmp_path, proxy, front, SESSION_KEY) as s,
        browser() as staff,
        browser() as customer,
    ):
        await s.set_enabled(False)
        async with staff.get(f"{s.url}/_gateway/preview/{token}", allow_redirects=False) as r:
            assert (r.status, r.headers["Location"]) == (303, "/")
            (line,) = r.headers.getall("Set-Cookie")
            assert line.startswith(f"portal_gateway_preview={token}; Max-Age=")
            assert "Path=/; HttpOnly; SameSite=Lax" in line
        async with staff.get(f"{s.url}/account") as r:
            assert r.status == 200
        # The previewer logs in, and stays logged in while the preview lasts.
        await staff.post(f"{s.url}/login?who=staff")
        async with staff.get(f"{s.url}/orders") as r:
            assert r.status == 200
        async with customer.get(f"{s.url}/account") as r:
            assert r.status == 503
        # An altered link sets nothing; an altered cookie is the page, and is removed.
        forged = token[:-1] + ("A" if token[-1] != "A" else "B")
        async with customer.get(f"{s.url}/_gateway/preview/{forged}", allow_redirects=False) as r:
            assert r.status == 404 and "Set-Cookie" not in r.headers
        customer.cookie_jar.update_cookies({"portal_gateway_preview": forged}, URL(s.url))
        async with customer.get(f"{s.url}/account") as r:
            assert r.status == 503
            assert f"portal_gateway_preview=; {EXPIRED}" in r.headers.getall("Set-Cookie")
        assert "portal_gateway_preview" not in jar(customer)
        # Re-enabled: the login made during the preview ends with the disable.
        await s.set_enabled(True)
        async with staff.get(f"{s.url}/account") as r:
            assert r.status == 200
            assert f"portal_session=; {EXPIRED}" in r.headers.getall("Set-Cookie")
    # The preview cookie never reached the portal; the preview's session did, during it only.
    assert s.seen() == [
        "GET /account -",
        "POST /login?who=staff -",
        "GET /orders portal_session=s-staff",
        "GET /account -",
    ]


@pytest.mark.parametrize(("proxy", "front"), PROXIES)
async def test_a_preview_revoked_with_revoke_all_is_refused_through_the_proxy(
    upstream: StartUpstream, tmp_path: Path, proxy: str, front: FrontEnd
) -> None:
    control = tmp_path / "control.json"
    codec = PreviewCodec(SESSION_KEY.encode())
    token = codec.issue(time.time() + 600, 0)
    keys: dict[str, object] = {"override_file": str(control)}
    async with stack(upstream, tmp_path, proxy, front, SESSION_KEY, keys) as s, browser() as staff:
        await s.set_enabled(False)
        async with staff.get(f"{s.url}/_gateway/preview/{token}", allow_redirects=False) as r:
            assert r.status == 303
        async with staff.get(f"{s.url}/account") as r:
            assert r.status == 200
        save_control(str(control), Control(None, 1))  # as `preview-link --revoke-all` writes it
        await s.gateway.refresh()
        async with staff.get(f"{s.url}/account") as r:
            assert r.status == 503
            assert f"portal_gateway_preview=; {EXPIRED}" in r.headers.getall("Set-Cookie")
        assert "portal_gateway_preview" not in jar(staff)
        async with staff.get(f"{s.url}/_gateway/preview/{token}", allow_redirects=False) as r:
            assert r.status == 404 and "Set-Cookie" not in r.headers
    assert s.seen() == ["GET /account -"]


def connections_to(port: int) -> set[int]:
    """The other ends' ports of every TCP connection (not the listener) on loopback `port`,
    TIME_WAIT included: one entry per connection opened to it since about a minute ago."""
    seen = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                local, remote, state = line.split()[1:4]
                ports = (int(local.rsplit(":", 1)[1], 16), int(remote.rsplit(":", 1)[1], 16))
                if state != "0A" and port in ports:  # 0A: LISTEN
                    seen.add(ports[1] if ports[0] == port else ports[0])
    return seen


@pytest.mark.nginx
async def test_nginx_keeps_its_connection_to_the_gateway_across_denies(
    upstream: StartUpstream, tmp_path: Path
) -> None:
    # The deny has no body (nginx reads the page from a header), so nginx keeps the
    # connection, and its client still gets the whole answer.
    async with (
        stack(upstream, tmp_path, "nginx", nginx_in_front) as s,
        aiohttp.ClientSession() as http,
    ):
        await s.set_enabled(False)
        before = connections_to(s.gateway.admin_port)
        pages = set()
        for _ in range(20):
            async with http.get(f"{s.url}/pay", headers={"Cookie": "portal_session=a"}) as r:
                page = await r.text()
                assert (r.status, r.headers["Retry-After"]) == (503, "120")
                assert r.headers["Cache-Control"] == "no-store"
                assert r.headers.getall("Set-Cookie") == [f"portal_session=; {EXPIRED}"]
                assert r.headers["Content-Length"] == str(len(page.encode()))
                assert MESSAGE in page and page.rstrip().endswith("</html>")
                pages.add(page)
        opened = connections_to(s.gateway.admin_port) - before
    assert len(pages) == 1
    # One connection kept alive (a second if nginx's first was closed meanwhile); a body on
    # the deny made this 20, one per request.
    assert 1 <= len(opened) <= 2, opened
