"""Opening a preview link over real HTTP: the proxy's public listener, the admin listener (where
a forward-auth proxy routes the links) and the plugin; then the cookie lets a disabled customer
route through, counted and logged as `preview`, the token never logged."""

from __future__ import annotations

import logging
import time

import pytest
from aiohttp import ClientSession, web
from pytest_aiohttp import AiohttpServer

from gateway.config import config_from_text
from gateway.edge.keys import ADMIN_APP
from gateway.edge.server import make_runner
from gateway.policy.preview import PreviewCodec
from tests.behaviour.test_metrics import scrape, value
from tests.conftest import SESSION_KEY, StartGateway, StartUpstream, config_text, raw_exchange
from tests.plugin_apps import start_plugin_app
from tests.processes import free_port

CODEC = PreviewCodec(SESSION_KEY.encode())
TRUSTED = {"proxy": {"trusted_proxies": ["127.0.0.1/32"]}}


def _token(seconds: float = 3600, generation: int = 0) -> str:
    return CODEC.issue(time.time() + seconds, generation)


def _cookie_of(set_cookie: str) -> str:
    return set_cookie.split(";", 1)[0]


async def test_a_preview_link_lets_one_browser_through_while_disabled(
    upstream: StartUpstream, gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "gateway.access")
    up = await upstream()
    gw = await gateway(up.url, {"admin_listen": f"127.0.0.1:{free_port()}"})
    await gw.set_enabled(False)
    token = _token(7200)
    async with gw.client.get(f"/_gateway/preview/{token}", allow_redirects=False) as resp:
        assert resp.status == 303
        assert resp.headers["Location"] == "/"
        assert resp.headers["Cache-Control"] == "no-store"
        (line,) = resp.headers.getall("Set-Cookie")
    assert line.startswith(f"portal_gateway_preview={token}; Max-Age=")
    assert 7190 <= int(line.split("Max-Age=", 1)[1].split(";", 1)[0]) <= 7200
    for attribute in ("Expires=", "Path=/", "HttpOnly", "SameSite=Lax"):
        assert attribute in line
    assert "Secure" not in line  # plain http, from a peer that is no trusted proxy
    cookie = f"{_cookie_of(line)}; theme=dark"
    async with gw.client.get("/home", headers={"Cookie": cookie}) as resp:
        assert resp.status == 200
    async with gw.client.get("/home") as resp:
        assert resp.status == 503  # the same route, without the preview
    (seen,) = up.seen
    assert seen.header("Cookie") == ["theme=dark"]  # the preview cookie never goes upstream
    lines = gw.access_lines()
    assert not any(token in line for line in lines)
    entries = gw.access_json()
    assert [(e["path"], e["decision"]) for e in entries] == [
        ("/_gateway/preview/-", "admin"),
        ("/home", "preview"),
        ("/home", "blocked"),
    ]


async def test_preview_and_staff_network_requests_are_counted(
    upstream: StartUpstream, gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "gateway.access")
    up = await upstream()
    extra = {**TRUSTED}
    gw = await gateway(up.url, extra, portal={"allow_while_disabled": ["198.51.100.0/24"]})
    await gw.set_enabled(False)
    preview = {"Cookie": f"portal_gateway_preview={_token()}"}
    async with gw.client.get("/home", headers=preview) as resp:
        assert resp.status == 200
    staff = {"X-Forwarded-For": "198.51.100.9"}
    for _ in range(2):
        async with gw.client.get("/home", headers=staff) as resp:
            assert resp.status == 200
    outsider = {"X-Forwarded-For": "192.0.2.9"}
    async with gw.client.get("/home", headers=outsider) as resp:
        assert resp.status == 503
    _, samples = await scrape(gw)
    requests = "portal_gateway_requests_total"
    labels = {"route": "customer", "portal": "customer"}
    assert value(samples, requests, **labels, decision="preview") == 1
    assert value(samples, requests, **labels, decision="allowlisted") == 2
    assert value(samples, requests, **labels, decision="blocked") == 1
    decisions = [(e["client"], e["decision"]) for e in gw.access_json() if e["path"] == "/home"]
    assert decisions == [
        ("127.0.0.1", "preview"),
        ("198.51.100.9", "allowlisted"),
        ("198.51.100.9", "allowlisted"),
        ("192.0.2.9", "blocked"),
    ]


async def test_a_staff_network_is_judged_on_the_real_client_address(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    # No trusted proxy: X-Forwarded-For is the client's own claim, and never believed.
    gw = await gateway(up.url, portal={"allow_while_disabled": ["198.51.100.0/24"]})
    await gw.set_enabled(False)
    async with gw.client.get("/home", headers={"X-Forwarded-For": "198.51.100.9"}) as resp:
        assert resp.status == 503
    assert up.seen == []


async def test_a_bad_link_sets_nothing(upstream: StartUpstream, gateway: StartGateway) -> None:
    gw = await gateway((await upstream()).url)
    token = _token()
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for path in (
        f"/_gateway/preview/{CODEC.issue(time.time() - 1, 0)}",  # expired
        f"/_gateway/preview/{tampered}",
        f"/_gateway/preview/{PreviewCodec(b'x' * 32).issue(time.time() + 60, 0)}",  # other key
        "/_gateway/preview/",
        "/_gateway/preview/junk",
    ):
        async with gw.client.get(path, allow_redirects=False) as resp:
            assert resp.status == 404, path
            assert "Set-Cookie" not in resp.headers
    # Another spelling of the prefix is never the endpoint (nor proxied).
    reply = await raw_exchange(
        gw.port,
        f"GET /_GATEWAY/preview/{token} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".encode(),
    )
    assert reply.startswith(b"HTTP/1.1 404") and b"Set-Cookie" not in reply
    async with gw.client.post(f"/_gateway/preview/{token}", allow_redirects=False) as resp:
        assert resp.status == 405
        assert "Set-Cookie" not in resp.headers


async def test_a_revoked_link_does_not_open(upstream: StartUpstream, gateway: StartGateway) -> None:
    gw = await gateway((await upstream()).url)
    gw.poller.state.preview_generation = 1
    async with gw.client.get(f"/_gateway/preview/{_token(generation=0)}") as resp:
        assert resp.status == 404
    async with gw.client.get(
        f"/_gateway/preview/{_token(generation=1)}", allow_redirects=False
    ) as resp:
        assert resp.status == 303


async def test_the_cookie_is_secure_over_https_said_by_a_trusted_proxy(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    https = {"X-Forwarded-Proto": "https"}
    trusting = await gateway(up.url, TRUSTED)
    async with trusting.client.get(
        f"/_gateway/preview/{_token()}", headers=https, allow_redirects=False
    ) as resp:
        assert resp.headers["Set-Cookie"].endswith("; Secure")
    untrusting = await gateway(up.url)
    async with untrusting.client.get(
        f"/_gateway/preview/{_token()}", headers=https, allow_redirects=False
    ) as resp:
        assert "Secure" not in resp.headers["Set-Cookie"]


async def test_the_admin_listener_opens_links_for_a_forward_auth_proxy(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    port = free_port()
    gw = await gateway(up.url, {"admin_listen": f"127.0.0.1:{port}", **TRUSTED})
    runner = make_runner(gw.client.app[ADMIN_APP], gw.config)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with (
            ClientSession() as session,
            session.get(
                f"http://127.0.0.1:{port}/_gateway/preview/{_token()}",
                headers={"X-Forwarded-Proto": "https"},
                allow_redirects=False,
            ) as resp,
        ):
            assert resp.status == 303
            assert resp.headers["Set-Cookie"].endswith("; Secure")
    finally:
        await runner.cleanup()


async def test_the_plugin_opens_links_and_its_handlers_never_see_the_cookie(
    aiohttp_server: AiohttpServer,
) -> None:
    config = config_from_text(config_text("http://127.0.0.1:1"), "plugin.yaml")
    app = await start_plugin_app(aiohttp_server, config)
    await app.set_enabled(False)
    async with ClientSession() as session:
        base = f"http://127.0.0.1:{app.port}"
        async with session.get(f"{base}/_gateway/preview/junk", allow_redirects=False) as resp:
            assert resp.status == 404
        async with session.get(
            f"{base}/_gateway/preview/{_token()}", allow_redirects=False
        ) as resp:
            assert resp.status == 303
            line = resp.headers["Set-Cookie"]
        cookie = f"{_cookie_of(line)}; theme=dark"
        async with session.get(f"{base}/home", headers={"Cookie": cookie}) as resp:
            assert resp.status == 200
        async with session.get(f"{base}/home") as resp:
            assert resp.status == 503
    (seen,) = app.seen
    assert seen.path == "/home" and seen.cookies == ("theme=dark",)
