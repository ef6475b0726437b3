"""The plugin's facts: the request as the app's handlers read it, forwarded headers believed
only from a trusted proxy."""

from __future__ import annotations

import ipaddress
import time
from typing import Any

from aiohttp import web

from gateway.plugin.facts import plugin_facts
from gateway.policy import RequestFacts

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)


async def facts_of(aiohttp_client: Any, trusted: tuple[Any, ...], **kwargs: Any) -> RequestFacts:
    seen: list[RequestFacts] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(plugin_facts(request, time.time(), trusted))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    client = await aiohttp_client(app)
    async with client.request(kwargs.pop("method", "GET"), "/enroll?x=1", **kwargs) as resp:
        assert resp.status == 200
    return seen[0]


async def test_the_request_as_the_app_reads_it(aiohttp_client: Any) -> None:
    headers = {"Cookie": "portal_session=a", "Accept": "text/html", "Accept-Language": "fr"}
    facts = await facts_of(aiohttp_client, (), method="POST", data=b"x", headers=headers)
    assert (facts.method, facts.target, facts.front_end) == ("POST", "/enroll?x=1", "plugin")
    assert facts.cookie_lines == ("portal_session=a",)
    assert (facts.accept, facts.accept_language) == ("text/html", "fr")
    assert facts.has_body and facts.http_version == (1, 1)
    assert facts.client_ip == "127.0.0.1" and not facts.secure


async def test_forwarded_headers_count_only_from_a_trusted_proxy(aiohttp_client: Any) -> None:
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    untrusted = await facts_of(aiohttp_client, (), headers=forwarded)
    assert (untrusted.client_ip, untrusted.secure) == ("127.0.0.1", False)
    trusted = await facts_of(aiohttp_client, LOOPBACK, headers=forwarded)
    assert (trusted.client_ip, trusted.secure) == ("203.0.113.9", True)
