"""Proxy properties of identity: the client address and scheme are believed only from trusted
peers, hosts are routed as configured, every answer carries a request id."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from gateway.app import create_app
from gateway.config import config_from_text
from gateway.edge.server import server_options
from gateway.settings.poller import Poller
from gateway.testing import MemorySource
from tests.conftest import StartGateway, StartUpstream, config_text
from tests.rawhttp import raw_request

AiohttpServer = Callable[..., Awaitable[TestServer]]

TRUSTED_LOCAL = "proxy:\n  trusted_proxies: [127.0.0.1/32, 10.0.0.0/8]\n"


async def test_untrusted_forwarded_for_is_not_the_client_ip(
    upstream: StartUpstream, gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.access")
    up = await upstream()
    gw = await gateway(up.url)
    answer = await raw_request(
        gw.port,
        b"GET /x HTTP/1.1\r\nHost: portal.example\r\nX-Forwarded-For: 6.6.6.6\r\n"
        b"X-Real-IP: 6.6.6.6\r\n\r\n",
    )
    assert answer.status == 200
    [seen] = up.seen
    assert seen.header("x-forwarded-for") == ["127.0.0.1"]
    assert "6.6.6.6" not in repr(seen.headers)
    [line] = gw.access_lines()
    assert json.loads(line)["client"] == "127.0.0.1"
    assert "6.6.6.6" not in line


async def test_trusted_peer_client_ip_is_rightmost_untrusted_and_lines_merge(
    upstream: StartUpstream, gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.access")
    up = await upstream()
    gw = await gateway(up.url, TRUSTED_LOCAL)
    answer = await raw_request(
        gw.port,
        b"GET /x HTTP/1.1\r\nHost: portal.example\r\n"
        b"X-Forwarded-For: 203.0.113.5\r\n"
        b"X-Forwarded-For: 198.51.100.7, 10.0.0.2\r\n\r\n",
    )
    assert answer.status == 200
    [seen] = up.seen
    # Both incoming lines, in order, then the socket peer; none dropped.
    assert seen.header("x-forwarded-for") == ["203.0.113.5, 198.51.100.7, 10.0.0.2, 127.0.0.1"]
    [line] = gw.access_json()
    # 10.0.0.2 and 127.0.0.1 are trusted proxies; 198.51.100.7 is the client.
    assert line["client"] == "198.51.100.7"


async def test_untrusted_forwarded_proto_and_host_are_overwritten(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    answer = await raw_request(
        gw.port,
        b"GET /x HTTP/1.1\r\nHost: portal.example:8080\r\n"
        b"X-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\n\r\n",
    )
    assert answer.status == 200
    [seen] = up.seen
    assert seen.header("x-forwarded-proto") == ["http"]
    assert seen.header("x-forwarded-host") == ["portal.example:8080"]
    assert seen.header("host") == ["portal.example:8080"]


async def test_trusted_forwarded_proto_and_host_are_believed(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    # The other half of the forwarded-header property: the overwrite above is about trust, not a blanket rewrite.
    up = await upstream()
    gw = await gateway(up.url, TRUSTED_LOCAL)
    await raw_request(
        gw.port,
        b"GET /x HTTP/1.1\r\nHost: portal.example\r\n"
        b"X-Forwarded-Proto: https\r\nX-Forwarded-Host: www.portal.example\r\n\r\n",
    )
    [seen] = up.seen
    assert seen.header("x-forwarded-proto") == ["https"]
    assert seen.header("x-forwarded-host") == ["www.portal.example"]


async def test_forwarded_for_ipv6_client_is_quoted_and_bracketed(
    upstream: StartUpstream, aiohttp_server: AiohttpServer
) -> None:
    up = await upstream()
    config = config_from_text(config_text(up.url, "proxy:\n  emit_forwarded: true\n"), "test.yaml")
    source = MemorySource(True)
    poller = Poller(source, config.settings, jitter=lambda ttl: 0.0)
    app = create_app(config, poller=poller)
    options = {k: v for k, v in server_options(config).items() if k != "handler_cancellation"}
    try:
        server = await aiohttp_server(app, host="::1", **options)
    except OSError:
        pytest.skip("no IPv6 loopback here")
    await poller.refresh()
    port = server.port
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://[::1]:{port}/x", headers={"Forwarded": "for=6.6.6.6"}) as resp,
    ):
        assert resp.status == 200
    [seen] = up.seen
    [forwarded] = seen.header("forwarded")
    assert re.fullmatch(r'for="\[::1\](:\d+)?";host="\[::1\]:\d+";proto=http', forwarded)
    assert seen.header("x-forwarded-for") == ["::1"]


async def test_header_names_with_underscores_never_reach_upstream(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    answer = await raw_request(
        gw.port,
        b"GET /x HTTP/1.1\r\nHost: portal.example\r\n"
        b"X_Forwarded_For: 6.6.6.6\r\nX_Custom_User: admin\r\n\r\n",
    )
    assert answer.status in (200, 400)
    for seen in up.seen:
        assert [k for k, _ in seen.headers if "_" in k] == []
        assert "6.6.6.6" not in repr(seen.headers)


async def test_absolute_form_is_forwarded_in_origin_form_with_its_authority(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    answer = await raw_request(
        gw.port,
        # Same host, Host without the port: the authority's form is what goes upstream.
        b"GET http://portal.example:8443/x?y=1 HTTP/1.1\r\nHost: portal.example\r\n\r\n",
    )
    assert answer.status == 200
    [seen] = up.seen
    assert seen.raw_path == "/x?y=1"
    assert seen.header("host") == ["portal.example:8443"]


async def test_absolute_form_with_another_host_never_forwards_that_host(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    # RFC 9112 3.2.2: the authority wins over Host. The gateway refuses the disagreement
    # (classify.py, a deliberate SECURITY choice); forwarding with `Host: other` is the bug.
    up = await upstream()
    gw = await gateway(up.url)
    answer = await raw_request(
        gw.port, b"GET http://portal.example:8443/x?y=1 HTTP/1.1\r\nHost: other\r\n\r\n"
    )
    if answer.status == 200:
        [seen] = up.seen
        assert seen.raw_path == "/x?y=1"
        assert seen.header("host") == ["portal.example:8443"]
    else:
        assert answer.status == 400
        assert up.seen == []


async def test_host_not_configured_gets_421_and_is_not_forwarded(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url, "server_names: [portal.example]\n")
    served = await raw_request(gw.port, b"GET /x HTTP/1.1\r\nHost: Portal.Example.:80\r\n\r\n")
    assert served.status == 200
    assert len(up.seen) == 1
    other = await raw_request(gw.port, b"GET /x HTTP/1.1\r\nHost: other.example\r\n\r\n")
    assert other.status in (400, 421)
    assert len(up.seen) == 1


async def test_request_id_on_every_response_and_sent_upstream(
    upstream: StartUpstream, gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.access")
    up = await upstream()
    gw = await gateway(up.url)
    forwarded = await raw_request(
        gw.port, b"GET /x HTTP/1.1\r\nHost: portal.example\r\nX-Request-ID: forged\r\n\r\n"
    )
    [rid] = forwarded.header("x-request-id")
    assert rid != "forged"  # untrusted peer: generated
    [seen] = up.seen
    assert seen.header("x-request-id") == [rid]
    # Answers the gateway gives itself carry one too.
    refused = await raw_request(gw.port, b"GET /a;b HTTP/1.1\r\nHost: portal.example\r\n\r\n")
    assert refused.status == 400
    [refused_rid] = refused.header("x-request-id")
    assert refused_rid not in ("", rid)
    lines = gw.access_json()
    assert [(line["client"], line["request_id"], line["status"]) for line in lines] == [
        ("127.0.0.1", rid, 200),
        ("127.0.0.1", refused_rid, 400),
    ]


async def test_request_id_from_trusted_peer_is_preserved(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url, TRUSTED_LOCAL)
    answer = await raw_request(
        gw.port, b"GET /x HTTP/1.1\r\nHost: portal.example\r\nX-Request-ID: edge-42.a\r\n\r\n"
    )
    assert answer.header("x-request-id") == ["edge-42.a"]
    [seen] = up.seen
    assert seen.header("x-request-id") == ["edge-42.a"]
