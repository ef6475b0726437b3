"""proxy_facts: what the gate may read about a request the proxy is serving, from the wire."""

from __future__ import annotations

import json
from dataclasses import asdict

from aiohttp import web
from pytest_aiohttp import AiohttpServer

from gateway.edge.facts import proxy_facts
from tests.conftest import raw_exchange


async def test_facts_are_read_from_the_request_as_sent(aiohttp_server: AiohttpServer) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers]
        facts = proxy_facts(
            request, headers, client_ip="198.51.100.7", secure=True, started_at=12.5, via="gw1"
        )
        await request.read()
        return web.Response(text=json.dumps(asdict(facts)))

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    server = await aiohttp_server(app)
    assert server.port is not None
    reply = await raw_exchange(
        server.port,
        b"POST /enroll?x=%2F HTTP/1.1\r\nHost: Portal.Example\r\nCookie: a=1\r\n"
        b"Cookie: b=2\r\nAccept: application/json\r\nAccept-Language: fr-CA\r\nVia: 1.1 proxy, 1.1 GW1\r\n"
        b"Transfer-Encoding: Chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    )
    facts = json.loads(reply.partition(b"\r\n\r\n")[2])
    assert facts == {
        "method": "POST",
        "target": "/enroll?x=%2F",
        "host_lines": ["Portal.Example"],
        "cookie_lines": ["a=1", "b=2"],
        "accept": "application/json",
        "client_ip": "198.51.100.7",
        "secure": True,
        "started_at": 12.5,
        "front_end": "proxy",
        "accept_language": "fr-CA",
        "http_version": [1, 1],
        "transfer_codings": ["chunked"],
        "has_body": True,
        "via_loop": True,  # our own pseudonym, in any case, is a loop
    }
