"""Staff's note, the return time and localised pages through every front end: the proxy,
forward-auth asked directly, real nginx and Caddy in front of it, and the in-process plugin."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from gateway.config import UNAVAILABLE_MESSAGE, config_from_text
from gateway.testing import MemorySource
from tests.conftest import StartGateway, StartUpstream, config_text
from tests.edge_proxies import (
    SETTINGS_PATH,
    caddy_in_front,
    forward_auth_gateway,
    nginx_in_front,
)
from tests.plugin_apps import start_plugin_app

FR = "Notre portail client est actuellement indisponible. Veuillez revenir plus tard."
NOTE = "Back after the <billing> run & co"
ESCAPED = "Back after the &lt;billing&gt; run &amp; co"
VARY = "Accept, Accept-Language"


def localised(tmp_path: Path) -> dict[str, object]:
    """`customer_portal` keys for an English page without the marker and a French one with."""
    page = tmp_path / "unavailable.html"
    page.write_text(f"<main><p>{UNAVAILABLE_MESSAGE}</p><p>Thanks.</p></main>")
    (tmp_path / "unavailable.fr.html").write_text(
        f'<html lang="fr"><p>{FR}</p><!--portal-gateway:detail--><p>Merci.</p></html>'
    )
    return {"unavailable_page": str(page), "sentences": {"fr": FR}}


async def test_the_proxy_shows_the_note_in_the_clients_language(
    upstream: StartUpstream, gateway: StartGateway, tmp_path: Path
) -> None:
    up = await upstream()
    gw = await gateway(up.url, portal=localised(tmp_path))
    assert isinstance(gw.source, MemorySource)
    gw.source.message = NOTE
    await gw.set_enabled(False)
    async with gw.client.get("/enroll", headers={"Accept-Language": "fr-CA,fr;q=0.9"}) as r:
        assert (r.status, r.headers["Content-Language"], r.headers["Vary"]) == (503, "fr", VARY)
        text = await r.text()
        assert f'<p>{FR}</p><p class="portal-gateway-message">{ESCAPED}</p><p>Merci.' in text
        assert NOTE not in text
    async with gw.client.get("/enroll", headers={"Accept-Language": "de, en;q=0.5"}) as r:
        assert (r.status, r.headers["Content-Language"]) == (503, "en")
        text = await r.text()
        # No marker in the English page: right after the element holding the sentence.
        assert f'{UNAVAILABLE_MESSAGE}</p><p class="portal-gateway-message">{ESCAPED}' in text
    async with gw.client.get("/pay", headers={"Accept": "application/json"}) as r:
        assert (r.status, r.headers["Vary"], r.headers["Content-Language"]) == (503, VARY, "en")
        assert (await r.json())["message_detail"] == NOTE
    assert up.seen == []


async def test_retry_after_counts_down_to_the_return_time(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    now = [1_800_000_000.0]
    up = await upstream()
    gw = await gateway(up.url, enabled=False, wall=lambda: now[0])
    # What a schedule or an override sets; the poller's next read keeps it.
    gw.poller.state.retry_at = now[0] + 600
    async with gw.client.get("/enroll", headers={"Accept": "application/json"}) as r:
        assert r.headers["Retry-After"] == "600"
        assert (await r.json())["retry_at"] == "2027-01-15T08:10:00Z"
    now[0] += 450.5
    async with gw.client.get("/enroll") as r:
        assert r.headers["Retry-After"] == "150"
        assert '<time datetime="2027-01-15T08:10:00+00:00">2027-01-15 08:10 UTC</time>' in (
            await r.text()
        )


async def test_a_return_time_past_the_calendar_still_answers_the_unavailable_page(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url, enabled=False)
    gw.poller.state.retry_at = float("inf")  # what no override or schedule should ever set
    for accept in ("text/html", "application/json"):
        async with gw.client.get("/enroll", headers={"Accept": accept}) as r:
            assert (r.status, r.headers["Retry-After"]) == (503, "120")
            assert UNAVAILABLE_MESSAGE in await r.text()
    assert up.seen == []


async def test_forward_auth_carries_the_localised_page_and_its_headers(
    upstream: StartUpstream, gateway: StartGateway, tmp_path: Path
) -> None:
    up = await upstream()
    extra = {"forward_auth": {"proxy": "nginx"}, "proxy": {"trusted_proxies": ["127.0.0.1/32"]}}
    gw = await gateway(up.url, extra, portal=localised(tmp_path))
    assert isinstance(gw.source, MemorySource)
    gw.source.message = NOTE
    await gw.set_enabled(False)
    # nginx's auth subrequest carries the client's own headers besides the ones it sets.
    headers = {
        "X-Original-Method": "GET",
        "X-Original-URI": "/pay",
        "X-Forwarded-Host": "portal.example",
        "X-Real-IP": "203.0.113.7",
        "Accept-Language": "fr",
    }
    async with gw.client.get("/_gateway/decision?deny_status=403", headers=headers) as r:
        assert (r.status, r.headers["Content-Language"], r.headers["Vary"]) == (403, "fr", VARY)
        assert r.headers["X-Portal-Gateway-Status"] == "503"
        assert (
            f'<p class="portal-gateway-message">{ESCAPED}</p>'
            in (r.headers["X-Portal-Gateway-Body"])
        )


FrontEnd = Callable[[Path, int, int], AbstractAsyncContextManager[int]]
PROXIES = [
    pytest.param("nginx", nginx_in_front, marks=pytest.mark.nginx, id="nginx"),
    pytest.param("caddy", caddy_in_front, marks=pytest.mark.caddy, id="caddy"),
]


@pytest.mark.parametrize(("proxy", "front"), PROXIES)
async def test_a_real_proxy_in_front_shows_the_stores_note_in_the_clients_language(
    upstream: StartUpstream, tmp_path: Path, proxy: str, front: FrontEnd
) -> None:
    store: dict[str, object] = {"enabled": False, "changed_at": time.time(), "note": NOTE}

    async def settings(_: web.Request) -> web.StreamResponse:
        return web.json_response(store)

    portal = await upstream({SETTINGS_PATH: settings})
    assert portal.server.port is not None
    sections: dict[str, dict[str, object]] = {
        "settings": {"message_field": "note"},
        "customer_portal": localised(tmp_path),
    }
    async with (
        forward_auth_gateway(proxy, portal.server.port, sections) as gw,
        front(tmp_path, gw.admin_port, portal.server.port) as port,
        aiohttp.ClientSession() as http,
    ):
        url = f"http://127.0.0.1:{port}/enroll"
        async with http.get(url, headers={"Accept-Language": "fr-FR, en;q=0.3"}) as r:
            assert r.status == 503
            assert (r.headers["Content-Language"], r.headers["Vary"]) == ("fr", VARY)
            text = await r.text()
            assert FR in text and f'<p class="portal-gateway-message">{ESCAPED}</p>' in text
        async with http.get(url) as r:
            assert (r.status, r.headers["Content-Language"]) == (503, "en")
            assert UNAVAILABLE_MESSAGE in await r.text()
        async with http.get(url, headers={"Accept": "application/json"}) as r:
            assert r.status == 503
            assert json.loads(await r.text())["message_detail"] == NOTE
    seen = [s.raw_path for s in portal.seen if s.raw_path != SETTINGS_PATH]
    assert seen == []


async def test_the_plugin_renders_the_same_page(
    aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    config = config_from_text(
        config_text("http://127.0.0.1:8081", portal=localised(tmp_path)), "t.yaml"
    )
    app = await start_plugin_app(aiohttp_server, config)
    app.source.message = NOTE
    await app.set_enabled(False)
    url = f"http://127.0.0.1:{app.port}/enroll"
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, headers={"Accept-Language": "fr"}) as r,
    ):
        assert (r.status, r.headers["Content-Language"], r.headers["Vary"]) == (503, "fr", VARY)
        assert f'<p class="portal-gateway-message">{ESCAPED}</p>' in await r.text()
    assert app.seen == []


ES = "Nuestro portal de clientes no está disponible en este momento. Vuelva más tarde."
WIDE_NOTE = "Retour à 14 h — merci ✓ 日本"


@pytest.mark.parametrize(("proxy", "front"), PROXIES)
async def test_a_real_proxy_carries_a_note_and_a_page_beyond_latin_1(
    upstream: StartUpstream, tmp_path: Path, proxy: str, front: FrontEnd
) -> None:
    # nginx carries the page in a header of the decision's answer: the UTF-8 bytes must reach
    # the browser as they are (a header is no latin-1 text here), line breaks made spaces.
    store: dict[str, object] = {
        "enabled": False,
        "changed_at": time.time(),
        "note": f"{WIDE_NOTE}\r\nSet-Cookie: evil=1",
    }

    async def settings(_: web.Request) -> web.StreamResponse:
        return web.json_response(store)

    portal = await upstream({SETTINGS_PATH: settings})
    assert portal.server.port is not None
    page = tmp_path / "unavailable.html"
    page.write_text(f"<main><p>{UNAVAILABLE_MESSAGE}</p></main>")
    (tmp_path / "unavailable.es.html").write_text(
        f'<html lang="es"><p>{ES}</p>\n<!--portal-gateway:detail-->\n<p>¡Gracias!</p></html>',
        encoding="utf-8",
    )
    sections: dict[str, dict[str, object]] = {
        "settings": {"message_field": "note"},
        "customer_portal": {"unavailable_page": str(page), "sentences": {"es": ES}},
    }
    async with (
        forward_auth_gateway(proxy, portal.server.port, sections) as gw,
        front(tmp_path, gw.admin_port, portal.server.port) as port,
        aiohttp.ClientSession() as http,
    ):
        url = f"http://127.0.0.1:{port}/enroll"
        async with http.get(url, headers={"Accept-Language": "es-MX"}) as r:
            assert (r.status, r.headers["Content-Language"]) == (503, "es")
            assert "evil" not in r.headers.get("Set-Cookie", "")
            text = (await r.read()).decode("utf-8")
            assert ES in text and "¡Gracias!" in text
            assert f'<p class="portal-gateway-message">{WIDE_NOTE} Set-Cookie: evil=1</p>' in text
        async with http.get(url, headers={"Accept": "application/json"}) as r:
            assert r.status == 503
            body = json.loads((await r.read()).decode("utf-8"))
            assert body["message_detail"] == f"{WIDE_NOTE} Set-Cookie: evil=1"
    assert [s for s in portal.seen if s.raw_path != SETTINGS_PATH] == []
