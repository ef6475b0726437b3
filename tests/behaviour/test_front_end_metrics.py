"""Every front end counts and logs what it decides alike: the proxy, forward-auth (asked on the
public listener, on the admin listener, and by real nginx and Caddy) and the in-process plugin.

`portal_gateway_requests_total{route,portal,decision}` and the request-duration histogram move
with the ORIGINAL request's route and portal, and the access line names the original request,
never the decision endpoint it was asked on; the reserved endpoints' own answers (the scrape,
healthz) stay `admin`: logged, not counted.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families
from pytest_aiohttp import AiohttpServer

from gateway.admin.forward_answer import BODY
from gateway.edge.keys import ADMIN_APP
from gateway.edge.server import make_runner
from gateway.web.accesslog import AccessLog
from tests.behaviour.test_forward_auth_proxies import PROXIES, FrontEnd, stack
from tests.conftest import Gateway, StartGateway, StartUpstream, Writes
from tests.plugin_apps import start_plugin_app
from tests.policy.cases import table_config
from tests.processes import free_port

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
REQUESTS = "portal_gateway_requests_total"
DURATION_COUNT = "portal_gateway_request_duration_seconds_count"


def samples(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def requests(found: Samples) -> dict[tuple[str, str, str], float]:
    """`requests_total` by (route, portal, decision), the series with a count only."""
    out = {}
    for (name, labels), value in found.items():
        if name == REQUESTS and value:
            got = dict(labels)
            out[(got["route"], got["portal"], got["decision"])] = value
    return out


def durations(found: Samples) -> dict[tuple[str, str], float]:
    out = {}
    for (name, labels), value in found.items():
        if name == DURATION_COUNT and value:
            got = dict(labels)
            out[(got["portal"], got["decision"])] = value
    return out


def facts(line: dict[str, Any]) -> tuple[Any, ...]:
    keys = ("client", "method", "path", "route", "portal", "decision", "reason", "status")
    return tuple(line[k] for k in keys)


NGINX = {"X-Forwarded-Host": "portal.example", "X-Real-IP": "203.0.113.7"}


async def ask_nginx_style(
    http: aiohttp.ClientSession, url: str, method: str, uri: str
) -> tuple[int, str]:
    # What config/nginx-forward-auth.conf sets on its auth subrequest.
    headers = {**NGINX, "X-Original-Method": method, "X-Original-URI": uri}
    async with http.get(f"{url}/_gateway/decision", headers=headers) as resp:
        # nginx takes the page from this header (the deny has no body: it keeps the connection).
        return resp.status, resp.headers.get(BODY, "")


async def walk(gw: Gateway, http: aiohttp.ClientSession, url: str) -> None:
    """An office request and a customer one pass; once disabled the customer one is blocked."""
    assert (await ask_nginx_style(http, url, "GET", "/office/families?child=Ann"))[0] == 204
    assert (await ask_nginx_style(http, url, "POST", "/pay?card=4111"))[0] == 204
    await gw.set_enabled(False)
    status, page = await ask_nginx_style(http, url, "GET", "/pay")
    assert status == 503 and "currently unavailable" in page
    async with http.get(f"{url}/_gateway/healthz") as resp:
        assert resp.status == 200


WALKED = {
    ("office", "office", "forwarded"): 1.0,
    ("customer", "customer", "forwarded"): 1.0,
    ("customer", "customer", "blocked"): 1.0,
}
WALKED_LINES = [
    ("203.0.113.7", "GET", "/office/families", "office", "office", "forwarded", "forwarded", 204),
    ("203.0.113.7", "POST", "/pay", "customer", "customer", "forwarded", "forwarded", 204),
    # A customer refusal's reason is the portal's cause: staff's switch in the store.
    ("203.0.113.7", "GET", "/pay", "customer", "customer", "blocked", "store", 503),
]


async def test_forward_auth_on_the_public_listener_counts_and_logs_the_original_request(
    upstream: StartUpstream, gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "gateway.access")
    up = await upstream()
    extra = "forward_auth:\n  proxy: nginx\nproxy:\n  trusted_proxies: [127.0.0.1/32]\n"
    gw = await gateway(up.url, extra)
    url = str(gw.client.make_url("")).rstrip("/")
    async with aiohttp.ClientSession() as http:
        await walk(gw, http, url)
        async with http.get(f"{url}/_gateway/metrics") as resp:
            found = samples(await resp.text())
    assert requests(found) == WALKED  # nothing as route "admin": healthz, the scrape
    assert durations(found) == {
        ("office", "forwarded"): 1.0,
        ("customer", "forwarded"): 1.0,
        ("customer", "blocked"): 1.0,
    }
    lines = gw.access_json()
    assert [facts(line) for line in lines[:3]] == WALKED_LINES
    assert [(line["path"], line["decision"]) for line in lines[3:]] == [
        ("/_gateway/healthz", "admin"),
        ("/_gateway/metrics", "admin"),
    ]
    assert up.seen == []  # forward-auth: the gateway forwards nothing itself


async def test_a_refused_forward_auth_request_is_counted_refused_not_admin(
    upstream: StartUpstream, gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "gateway.access")
    up = await upstream()
    # The asking peer is not among the trusted proxies: its headers are not believed.
    extra = "forward_auth:\n  proxy: nginx\nproxy:\n  trusted_proxies: [10.0.0.0/8]\n"
    gw = await gateway(up.url, extra)
    url = str(gw.client.make_url("")).rstrip("/")
    async with aiohttp.ClientSession() as http:
        assert (await ask_nginx_style(http, url, "GET", "/office/families"))[0] == 403
        async with http.get(f"{url}/_gateway/metrics") as resp:
            found = samples(await resp.text())
    assert requests(found) == {("-", "-", "refused"): 1.0}
    [refused, _scrape] = gw.access_json()
    # Nothing of the original request was believed: the request as it came, refused.
    assert facts(refused) == (
        "127.0.0.1", "GET", "/_gateway/decision", "-", "-", "refused", "refused_403", 403,
    )  # fmt: skip


@pytest.fixture
async def admin_split(upstream: StartUpstream, gateway: StartGateway) -> AsyncIterator[Gateway]:
    """The production split: the decision endpoint only on the admin listener."""
    port = free_port()
    extra = (
        f"admin_listen: 127.0.0.1:{port}\nforward_auth:\n  proxy: nginx\n"
        "proxy:\n  trusted_proxies: [127.0.0.1/32]\n"
    )
    gw = await gateway((await upstream()).url, extra)
    runner = make_runner(gw.client.app[ADMIN_APP], gw.config)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield gw
    await runner.cleanup()


async def test_forward_auth_on_the_admin_listener_counts_and_logs_the_original_request(
    admin_split: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "gateway.access")
    gw = admin_split
    assert gw.config.admin_listen is not None
    url = f"http://127.0.0.1:{gw.config.admin_listen[1]}"
    async with aiohttp.ClientSession() as http:
        await walk(gw, http, url)
        async with http.get(f"{url}/_gateway/nowhere-else") as resp:
            assert resp.status == 404  # under the prefix: the gateway's own answer
        async with http.get(f"{url}/enroll") as resp:
            assert resp.status == 404  # the admin listener routes nothing: refused
        async with http.get(f"{url}/_gateway/metrics") as resp:
            found = samples(await resp.text())
    assert requests(found) == {**WALKED, ("-", "-", "refused"): 1.0}
    lines = gw.access_json()
    assert [facts(line) for line in lines[:3]] == WALKED_LINES
    assert [(line["path"], line["route"], line["decision"]) for line in lines[3:]] == [
        ("/_gateway/healthz", "admin", "admin"),
        ("/_gateway/nowhere-else", "admin", "admin"),
        ("/enroll", "-", "refused"),
        ("/_gateway/metrics", "admin", "admin"),
    ]


@pytest.mark.slow
@pytest.mark.parametrize(("proxy", "front"), PROXIES)
async def test_through_a_real_proxy_the_decisions_are_counted_by_original_route(
    upstream: StartUpstream,
    tmp_path: Path,
    proxy: str,
    front: FrontEnd,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.INFO, "gateway.access")
    async with stack(upstream, tmp_path, proxy, front) as s, aiohttp.ClientSession() as http:
        for path in ("/office/families?child=Ann", "/pay"):
            async with http.get(f"{s.url}{path}") as r:
                assert r.status == 200, path
        await s.set_enabled(False)
        async with http.get(f"{s.url}/pay?card=4111") as r:
            assert r.status == 503
        admin = f"http://127.0.0.1:{s.gateway.admin_port}"
        async with http.get(f"{admin}/_gateway/metrics") as resp:
            found = samples(await resp.text())
    # One decision asked per client request, counted under the route the client asked for.
    assert requests(found) == WALKED
    # The access lines (the gateway's stderr, written out when it stopped).
    lines = [json.loads(x) for x in capfd.readouterr().err.splitlines() if x.startswith("{")]
    decided = [line for line in lines if line["decision"] != "admin"]
    assert [(d["method"], d["path"], d["route"], d["decision"]) for d in decided] == [
        ("GET", "/office/families", "office", "forwarded"),
        ("GET", "/pay", "customer", "forwarded"),
        ("GET", "/pay", "customer", "blocked"),
    ]
    assert decided[2]["reason"] == "store"


async def test_the_plugin_counts_and_logs_what_it_decides(aiohttp_server: AiohttpServer) -> None:
    logging.getLogger("gateway.access").setLevel(logging.INFO)
    try:
        app = await start_plugin_app(aiohttp_server, table_config())
        writes = Writes()
        # In place of the app's (its thread stopped): unstarted, flush() writes in place.
        app.gate.accounting.access.stop()
        app.gate.accounting.access = AccessLog("json", writes)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            base = f"http://127.0.0.1:{app.port}"
            headers = {"Host": "portal.example.com", "User-Agent": "probe/1"}
            for path in ("/office/families?child=Ann", "/enroll"):
                async with http.get(f"{base}{path}", headers=headers) as r:
                    assert r.status == 200, path
            await app.set_enabled(False)
            async with http.get(f"{base}/enroll", headers=headers) as r:
                assert r.status == 503
            async with http.get(f"{base}/_gateway/anything", headers=headers) as r:
                assert r.status == 404  # the reserved prefix never reaches the app
        found = samples(app.gate.metrics_text())
        assert app.gate.accounting.access.flush()
    finally:
        logging.getLogger("gateway.access").setLevel(logging.NOTSET)
    assert requests(found) == {
        ("office", "office", "forwarded"): 1.0,
        ("customer", "customer", "forwarded"): 1.0,
        ("customer", "customer", "blocked"): 1.0,
        ("-", "-", "refused"): 1.0,
    }
    assert durations(found)[("customer", "blocked")] == 1.0
    assert found[("portal_gateway_customer_portal_enabled", frozenset())] == 0.0
    lines = [json.loads(line) for line in writes.lines()]
    assert [facts(line)[1:] for line in lines] == [
        ("GET", "/office/families", "office", "office", "forwarded", "forwarded", 200),
        ("GET", "/enroll", "customer", "customer", "forwarded", "forwarded", 200),
        ("GET", "/enroll", "customer", "customer", "blocked", "store", 503),
        ("GET", "/_gateway/anything", "-", "-", "refused", "refused_404", 404),
    ]
    assert {line["user_agent"] for line in lines} == {"probe/1"}
