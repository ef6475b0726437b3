"""The Prometheus series move as requests pass and are blocked, as the store fails and recovers,
and as upstreams fail; read back through the scrape, parsed by prometheus-client's own parser."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from gateway import __version__
from gateway.testing import MemorySource
from tests.conftest import ENABLED_STORE, Gateway, StartGateway, StartUpstream

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

SERIES = {
    "portal_gateway_requests",
    "portal_gateway_request_duration_seconds",
    "portal_gateway_upstream_duration_seconds",
    "portal_gateway_customer_portal_enabled",
    "portal_gateway_customer_portal_state",
    "portal_gateway_settings_reads",
    "portal_gateway_settings_last_success_timestamp_seconds",
    "portal_gateway_state_changes",
    "portal_gateway_open_connections",
    "portal_gateway_build_info",
    "portal_gateway_upstream_errors",
    "portal_gateway_self_check_ok",  # no sample without customer_portal.self_check
}


async def scrape(gw: Gateway) -> tuple[set[str], Samples]:
    async with gw.client.get("/_gateway/metrics") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        text = await resp.text()
    families = list(text_string_to_metric_families(text))
    samples = {(s.name, frozenset(s.labels.items())): s.value for f in families for s in f.samples}
    return {f.name for f in families}, samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def test_requests_passed_and_blocked_move_the_counters_and_histograms(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    gw = await gateway((await upstream()).url)
    for path in ("/login", "/office/a", "/office/b"):
        async with gw.client.get(path) as resp:
            assert resp.status == 200
    await gw.set_enabled(False)
    async with gw.client.get("/login") as resp:
        assert resp.status == 503
    names, samples = await scrape(gw)
    assert names == SERIES  # exactly these, with no `_created` twins
    assert not any("pid" in dict(labels) for _, labels in samples)
    requests = "portal_gateway_requests_total"
    assert value(samples, requests, route="office", portal="office", decision="forwarded") == 2
    assert value(samples, requests, route="customer", portal="customer", decision="forwarded") == 1
    assert value(samples, requests, route="customer", portal="customer", decision="blocked") == 1
    # The scrapes themselves are not requests.
    assert sum(v for (n, _), v in samples.items() if n == requests) == 4
    duration = "portal_gateway_request_duration_seconds_count"
    assert value(samples, duration, portal="office", decision="forwarded") == 2
    assert value(samples, duration, portal="customer", decision="blocked") == 1
    upstream_count = "portal_gateway_upstream_duration_seconds_count"
    assert value(samples, upstream_count, upstream="portal") == 3  # the blocked one never went
    assert value(samples, "portal_gateway_build_info", version=__version__) == 1
    assert value(samples, "portal_gateway_customer_portal_enabled") == 0
    assert value(samples, "portal_gateway_customer_portal_state", cause="store") == 1
    assert value(samples, "portal_gateway_state_changes_total") == 2  # cold start: on, off
    assert value(samples, "portal_gateway_open_connections", kind="customer_exchanges") == 0


async def test_a_store_outage_moves_the_state_and_the_reads_not_the_customers_view(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    settings = f"source: {ENABLED_STORE}\nfield: enabled\nttl: 2\ntimeout: 200ms\n"
    gw = await gateway((await upstream()).url, settings=settings)
    source = gw.source
    assert isinstance(source, MemorySource)
    _, before = await scrape(gw)
    last_ok = value(before, "portal_gateway_settings_last_success_timestamp_seconds")
    assert last_ok is not None and last_ok > 0
    assert value(before, "portal_gateway_settings_reads_total", result="ok") == 1
    assert value(before, "portal_gateway_settings_reads_total", result="error") == 0
    source.fail("connection refused")
    await gw.poller.refresh()
    source.hang()
    await gw.poller.refresh()
    async with gw.client.get("/login") as resp:
        assert resp.status == 200  # on_error last-known: customers still see the portal
    _, during = await scrape(gw)
    reads = "portal_gateway_settings_reads_total"
    assert value(during, reads, result="error") == 1
    assert value(during, reads, result="timeout") == 1
    state = "portal_gateway_customer_portal_state"
    assert value(during, state, cause="store_unavailable") == 1
    assert value(during, state, cause="store") == 0
    assert value(during, "portal_gateway_customer_portal_enabled") == 1
    assert value(during, "portal_gateway_settings_last_success_timestamp_seconds") == last_ok
    assert value(during, "portal_gateway_state_changes_total") == 1  # nothing flipped
    await gw.set_enabled(True)
    _, after = await scrape(gw)
    assert value(after, state, cause="store") == 1
    assert value(after, state, cause="store_unavailable") == 0
    assert value(after, reads, result="ok") == 2
    recovered = value(after, "portal_gateway_settings_last_success_timestamp_seconds")
    assert recovered is not None and recovered >= last_ok


async def test_a_dead_upstream_is_counted_per_request_and_logged_once_per_interval(
    gateway: StartGateway, caplog: pytest.LogCaptureFixture, unused_tcp_port: int
) -> None:
    gw = await gateway(f"http://127.0.0.1:{unused_tcp_port}")
    caplog.set_level(logging.WARNING, "gateway.proxy")
    for _ in range(5):
        async with gw.client.get("/office/a") as resp:
            assert resp.status == 502
    _, samples = await scrape(gw)
    errors = "portal_gateway_upstream_errors_total"
    assert value(samples, errors, upstream="portal", kind="refused") == 5
    lines = [r.getMessage() for r in caplog.records if r.name == "gateway.proxy"]
    assert len(lines) == 1  # the first at once; the other four wait for the summary
    assert lines[0].startswith(f"upstream portal: (http://127.0.0.1:{unused_tcp_port}) refused: ")
    await gw.client.close()  # the app's end writes the summary that is due
    lines = [r.getMessage() for r in caplog.records if r.name == "gateway.proxy"]
    assert len(lines) == 2
    assert lines[1].startswith("4 more upstream errors in the last ")
    assert "s: portal refused 4 (last: upstream portal: " in lines[1]


async def test_an_exhausted_pool_and_a_silent_upstream_are_told_apart(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.StreamResponse:
        await release.wait()
        return web.Response(text="late")

    up = await upstream({"/office/slow": slow})
    gw = await gateway(
        up.url, {"proxy": {"pool_size": 1, "connect_timeout": 0.3, "read_timeout": 0.5}}
    )
    held = asyncio.create_task(gw.client.get("/office/slow"))
    await asyncio.sleep(0.1)  # the one pooled connection is now the slow request's
    async with gw.client.get("/office/fast") as resp:
        assert resp.status == 504
    first = await held
    assert first.status == 504  # then the slow one times out reading
    first.release()
    release.set()
    _, samples = await scrape(gw)
    errors = "portal_gateway_upstream_errors_total"
    assert value(samples, errors, upstream="portal", kind="pool_exhausted") == 1
    assert value(samples, errors, upstream="portal", kind="timeout") == 1


async def test_a_websocket_to_a_dead_upstream_is_counted_as_refused(
    gateway: StartGateway, unused_tcp_port: int
) -> None:
    gw = await gateway(f"http://127.0.0.1:{unused_tcp_port}")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await gw.client.ws_connect("/live/spaces")
    assert refused.value.status == 502
    _, samples = await scrape(gw)
    errors = "portal_gateway_upstream_errors_total"
    assert value(samples, errors, upstream="portal", kind="refused") == 1
