"""An exchange's Outcome and its access entry, read from a real request on a real server."""

from __future__ import annotations

import json
from collections.abc import Mapping

from aiohttp import web
from pytest_aiohttp import AiohttpClient

from gateway.web.outcome import Outcome, access_entry, outcome


def test_the_logged_reason_is_the_cause_of_a_refusal_else_the_reason() -> None:
    assert Outcome(reason="customer_disabled", cause="store_unavailable").logged_reason == (
        "store_unavailable"
    )
    assert Outcome(reason="refused_404").logged_reason == "refused_404"


async def _serve(aiohttp_client: AiohttpClient, fill: Mapping[str, object]) -> web.Application:
    async def handle(request: web.Request) -> web.StreamResponse:
        note = outcome(request)
        assert outcome(request) is note  # one per request, whoever asks first
        note.request_id = "rid-1"
        for name, value in fill.items():
            setattr(note, name, value)
        response = web.Response(text="12345")
        entry = access_entry(request, response, note, 1.5, 0.25, ("/_gateway", False), 42)
        return web.json_response(entry._asdict())

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


async def test_the_entry_is_the_requests_own_by_default(aiohttp_client: AiohttpClient) -> None:
    client = await aiohttp_client(await _serve(aiohttp_client, {"route": "office"}))
    async with client.get("/office/a?card=4111", headers={"User-Agent": "probe/1"}) as resp:
        entry = json.loads(await resp.text())
    assert entry == {
        "ts": 1.5,
        "request_id": "rid-1",
        "client": "127.0.0.1",
        "method": "GET",
        "path": "/office/a",  # the query is not logged
        "route": "office",
        "portal": "-",
        "decision": "forwarded",
        "reason": "forwarded",
        "status": 200,
        "bytes": 5,
        "upstream_seconds": None,
        "duration": 0.25,
        "user_agent": "probe/1",
        "worker": 42,
    }


async def test_a_forward_auth_entry_names_the_original_request(
    aiohttp_client: AiohttpClient,
) -> None:
    fill = {
        "method": "POST",
        "target": "/_gateway/preview/S3CRET?x=1",
        "client_ip": "203.0.113.7",
        "route": "customer",
        "portal": "customer",
        "reason": "customer_disabled",
        "cause": "store",
    }
    client = await aiohttp_client(await _serve(aiohttp_client, fill))
    async with client.get("/_gateway/decision?deny_status=403") as resp:
        entry = json.loads(await resp.text())
    got = {k: entry[k] for k in ("client", "method", "path", "route", "decision", "reason")}
    assert got == {
        "client": "203.0.113.7",
        "method": "POST",
        "path": "/_gateway/preview/-",  # the original target, masked and without its query
        "route": "customer",
        "decision": "blocked",
        "reason": "store",
    }
