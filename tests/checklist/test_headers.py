"""Proxy properties of headers: hop-by-hop ones (and those Connection lists) are removed both
ways, repeated headers keep their order, Via is appended and detects loops."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict

from tests.conftest import StartGateway, StartUpstream
from tests.rawhttp import connect, parse_head, raw_request, read_until_closed

AiohttpServer = Callable[..., Awaitable[TestServer]]

TRUSTED_LOCAL = "proxy:\n  trusted_proxies: [127.0.0.1/32, 10.0.0.0/8]\n"


def tokens(values: list[str]) -> set[str]:
    return {t.strip().lower() for v in values for t in v.split(",") if t.strip()}


async def test_connection_listed_header_and_connection_value_not_forwarded(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    answer = await raw_request(
        gw.port,
        b"GET /x HTTP/1.1\r\nHost: portal.example\r\n"
        b"Connection: close, X-Foo\r\nX-Foo: 1\r\nX-Bar: 2\r\n\r\n",
    )
    assert answer.status == 200
    [seen] = up.seen
    assert seen.header("x-foo") == []
    assert seen.header("x-bar") == ["2"]  # end-to-end headers still pass
    assert not {"close", "x-foo"} & tokens(seen.header("connection"))


async def test_second_connection_line_still_strips_listed_header(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    # CVE-2021-33197 shape: a parser that reads only the first Connection line misses X-Foo.
    up = await upstream()
    gw = await gateway(up.url)
    answer = await raw_request(
        gw.port,
        b"GET /x HTTP/1.1\r\nHost: portal.example\r\n"
        b"Connection:\r\nConnection: X-Foo\r\nX-Foo: 1\r\n\r\n",
    )
    assert answer.status == 200
    [seen] = up.seen
    assert seen.header("x-foo") == []


async def test_connection_cannot_strip_proxy_generated_headers(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    answer = await raw_request(
        gw.port,
        b"GET /x HTTP/1.1\r\nHost: portal.example\r\n"
        b"Connection: X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto, X-Request-ID, Via\r\n"
        b"\r\n",
    )
    assert answer.status == 200
    [seen] = up.seen
    assert seen.header("x-forwarded-for") == ["127.0.0.1"]
    assert seen.header("x-forwarded-host") == ["portal.example"]
    assert seen.header("x-forwarded-proto") == ["http"]
    assert seen.header("x-request-id") == answer.header("x-request-id")
    assert len(seen.header("x-request-id")[0]) >= 16
    assert seen.header("via") == ["1.1 portal-gateway"]


async def test_hop_by_hop_request_headers_never_reach_upstream(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    answer = await raw_request(
        gw.port,
        b"GET /x HTTP/1.1\r\nHost: portal.example\r\n"
        b"Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\n"
        b"Proxy-Authorization: Basic dTpw\r\nTE: gzip\r\nUpgrade: h2c\r\n"
        b"Expect: 100-continue\r\nX-Kept: yes\r\n\r\n",
    )
    assert answer.status == 200
    [seen] = up.seen
    names = {k.lower() for k, _ in seen.headers}
    leaked = names & {
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "te",
        "upgrade",
        "expect",
    }
    assert leaked == set()
    assert seen.header("x-kept") == ["yes"]


async def test_client_transfer_encoding_is_not_passed_through(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    answer = await raw_request(
        gw.port,
        b"POST /x HTTP/1.1\r\nHost: portal.example\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\n\r\n",
    )
    assert answer.status == 200
    [seen] = up.seen
    assert seen.body == b"hello"
    # The gateway frames the body itself: one framing header, never the client's copied next
    # to a length the gateway computed.
    assert len(seen.header("transfer-encoding")) + len(seen.header("content-length")) == 1


async def test_hop_by_hop_response_headers_never_reach_client(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    async def hop(request: web.Request) -> web.StreamResponse:
        headers = CIMultiDict(
            [
                ("Keep-Alive", "timeout=99"),
                ("Connection", "X-Secret"),
                ("X-Secret", "internal"),
                ("Proxy-Authenticate", 'Basic realm="up"'),
                ("X-Kept", "yes"),
            ]
        )
        response = web.StreamResponse(headers=headers)
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b"streamed")
        await response.write_eof()
        return response

    up = await upstream({"/hop": hop})
    gw = await gateway(up.url)
    answer = await raw_request(gw.port, b"GET /hop HTTP/1.1\r\nHost: portal.example\r\n\r\n")
    assert answer.status == 200
    assert answer.body == b"streamed"
    names = {k.lower() for k, _ in answer.headers}
    assert not names & {"keep-alive", "x-secret", "proxy-authenticate"}
    assert "x-secret" not in tokens(answer.header("connection"))
    # The upstream's chunked framing is the gateway's own framing now, never doubled.
    assert len(answer.header("transfer-encoding")) <= 1
    assert answer.header("x-kept") == ["yes"]


async def test_upstream_chunked_framing_is_not_relayed_to_an_http10_client(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b"part one, ")
        await response.write(b"part two")
        await response.write_eof()
        return response

    up = await upstream({"/chunked": chunked})
    gw = await gateway(up.url)
    async with connect(gw.port) as (reader, writer):
        writer.write(b"GET /chunked HTTP/1.0\r\nHost: portal.example\r\n\r\n")
        data, closed = await read_until_closed(reader, timeout=5)
    head, _, body = data.partition(b"\r\n\r\n")
    _, headers = parse_head(head + b"\r\n\r\n")
    assert [s.header("transfer-encoding") for s in up.seen] == [[]]
    # HTTP/1.0 has no chunked coding: the upstream's Transfer-Encoding must not be copied.
    assert [k for k, _ in headers if k.lower() == "transfer-encoding"] == []
    assert body == b"part one, part two"
    assert closed


async def test_two_set_cookie_headers_arrive_separately_in_order(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    async def cookies(request: web.Request) -> web.StreamResponse:
        return web.Response(
            text="ok",
            headers=CIMultiDict(
                [("Set-Cookie", "b=2; Path=/"), ("Set-Cookie", "a=1; Path=/; HttpOnly")]
            ),
        )

    up = await upstream({"/c": cookies})
    gw = await gateway(up.url)
    answer = await raw_request(gw.port, b"GET /c HTTP/1.1\r\nHost: portal.example\r\n\r\n")
    assert answer.header("set-cookie") == ["b=2; Path=/", "a=1; Path=/; HttpOnly"]


async def test_repeated_end_to_end_headers_keep_order_both_ways(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    pairs = [
        ("Link", "</b.css>; rel=preload"),
        ("Vary", "Cookie"),
        ("Cache-Control", "private"),
        ("Link", "</a.js>; rel=preload"),
        ("Vary", "Accept-Language"),
        ("Cache-Control", "max-age=0"),
    ]

    async def repeated(request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok", headers=CIMultiDict(pairs))

    up = await upstream({"/r": repeated})
    gw = await gateway(up.url)
    lines = b"".join(f"{k}: {v}\r\n".encode() for k, v in pairs)
    answer = await raw_request(
        gw.port, b"GET /r HTTP/1.1\r\nHost: portal.example\r\n" + lines + b"\r\n"
    )
    [seen] = up.seen
    for name in ("Link", "Vary", "Cache-Control"):
        expected = [v for k, v in pairs if k == name]
        assert seen.header(name) == expected, f"request {name}"
        assert answer.header(name) == expected, f"response {name}"


async def test_via_appended_after_received_via(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    answer = await raw_request(
        gw.port,
        b"GET /x HTTP/1.1\r\nHost: portal.example\r\nVia: 1.0 fred, 1.1 edge.example\r\n\r\n",
    )
    assert answer.status == 200
    [seen] = up.seen
    assert seen.header("via") == ["1.0 fred, 1.1 edge.example", "1.1 portal-gateway"]


@pytest.mark.parametrize(
    "via", ["1.1 portal-gateway", "1.0 fred, 1.1 Portal-Gateway", "HTTP/1.1 portal-gateway"]
)
async def test_via_with_our_pseudonym_is_a_refused_loop(
    upstream: StartUpstream, gateway: StartGateway, via: str
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    answer = await raw_request(
        gw.port, f"GET /x HTTP/1.1\r\nHost: portal.example\r\nVia: {via}\r\n\r\n".encode()
    )
    assert answer.status == 508
    assert up.seen == []
