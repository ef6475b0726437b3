"""The plugin's accounting: a gated request counted and logged, an unidentified one neither."""

from __future__ import annotations

import json
import logging

import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families
from pytest_aiohttp import AiohttpClient

from gateway.plugin.accounting import Accounting
from gateway.settings.state import PortalState
from gateway.web.accesslog import AccessLog
from gateway.web.outcome import outcome
from tests.conftest import Writes
from tests.policy.cases import table_config


async def test_a_gated_request_is_counted_and_logged_and_an_unidentified_one_is_not(
    aiohttp_client: AiohttpClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "gateway.access")
    config = table_config()
    accounting = Accounting(config)
    writes = Writes()
    accounting.access = AccessLog("json", writes)

    async def handle(request: web.Request) -> web.StreamResponse:
        note = outcome(request)
        if request.path == "/enroll":
            note.request_id = "r1"
            note.route, note.portal = "customer", "customer"
            note.reason, note.cause = "customer_disabled", "store_unavailable"
        response = web.Response(status=503, text="page")
        accounting.record(request, response, note, 0.01, config)
        return response

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    client = await aiohttp_client(app)
    for path in ("/enroll?child=Ann", "/unread"):
        async with client.get(path) as resp:
            assert resp.status == 503
    text = accounting.metrics_text(PortalState("memory://"), None)
    counted = {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "portal_gateway_requests_total"
    }
    assert counted == {(("decision", "blocked"), ("portal", "customer"), ("route", "customer")): 1}
    assert accounting.access.flush()
    [line] = [json.loads(x) for x in writes.lines()]
    assert (line["path"], line["decision"], line["reason"]) == (
        "/enroll",
        "blocked",
        "store_unavailable",
    )
