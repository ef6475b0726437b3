"""Forwarding end to end: uploads, streaming, methods, routing misses."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from gateway.config import ProxyConfig
from gateway.edge.forward import make_session
from tests.conftest import StartGateway, StartUpstream
from tests.rawhttp import RawConnection, raw_upstream


async def test_a_3_mib_upload_arrives_intact(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    body = os.urandom(3 * 1024 * 1024)
    async with gw.client.post(
        "/upload", data=io.BytesIO(body), headers={"Content-Length": str(len(body))}
    ) as resp:
        assert resp.status == 200
    seen = up.seen[-1]
    assert hashlib.sha256(seen.body).digest() == hashlib.sha256(body).digest()
    assert seen.header("Content-Length") == [str(len(body))]


async def test_a_chunked_upload_arrives_intact(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    parts = [os.urandom(70_000) for _ in range(20)]

    async def chunks() -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    async with gw.client.post("/upload", data=chunks()) as resp:
        assert resp.status == 200
    assert up.seen[-1].body == b"".join(parts)


async def test_first_chunk_reaches_the_client_before_the_upstream_finishes(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    client_has_first = asyncio.Event()

    async def slow(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"first chunk\n")
        await asyncio.wait_for(client_has_first.wait(), 5)  # only the client can unblock us
        await response.write(b"second chunk\n")
        return response

    up = await upstream({"/slow": slow})
    gw = await gateway(up.url)
    async with gw.client.get("/slow") as resp:
        assert await resp.content.readline() == b"first chunk\n"
        client_has_first.set()
        assert await resp.content.read() == b"second chunk\n"


@pytest.mark.parametrize("method", ["PATCH", "DELETE", "OPTIONS", "PUT"])
async def test_other_methods_are_forwarded(
    upstream: StartUpstream, gateway: StartGateway, method: str
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    async with gw.client.request(
        method, "/office/enrollments/7", data=b'{"status":"active"}'
    ) as resp:
        assert resp.status == 200
        assert await resp.text() == f"upstream saw {method} /office/enrollments/7"
    assert up.seen[-1].body == b'{"status":"active"}'


async def test_no_route_is_a_gateway_404(upstream: StartUpstream, gateway: StartGateway) -> None:
    up = await upstream()
    only_office = "routes:\n  - name: office\n    paths: [/office]\n    upstream: portal\n    portal: office\n"
    gw = await gateway(up.url, routes=only_office)
    async with gw.client.get("/officer") as resp:
        assert resp.status == 404
        assert resp.headers["Server"] == "portal-gateway"
    async with gw.client.get("/office/x") as resp:
        assert resp.status == 200
    assert [s.raw_path for s in up.seen] == ["/office/x"]


async def test_host_and_method_conditions(upstream: StartUpstream, gateway: StartGateway) -> None:
    up = await upstream()
    routes = (
        "routes:\n"
        "  - name: office-api\n    paths: [/]\n    hosts: ['*.office.example']\n    methods: [GET, POST]\n"
        "    upstream: portal\n    portal: office\n"
        "  - name: customer\n    paths: [/]\n    upstream: portal\n    portal: customer\n"
    )
    gw = await gateway(up.url, routes=routes, enabled=False)
    async with gw.client.get("/x", headers={"Host": "Staff.Office.Example.:8080"}) as resp:
        assert resp.status == 200
    async with gw.client.delete("/x", headers={"Host": "staff.office.example"}) as resp:
        assert resp.status == 503  # DELETE is not in the office route: falls to customer
    async with gw.client.get("/x", headers={"Host": "office.example"}) as resp:
        assert resp.status == 503  # the wildcard covers subdomains only


async def test_reserved_endpoints_are_never_proxied(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    async with gw.client.get("/_gateway/healthz") as resp:
        assert (resp.status, await resp.text()) == (200, "ok\n")
    async with gw.client.get("/_gateway/readyz") as resp:
        assert resp.status == 200
    async with gw.client.get("/_gateway/nothing") as resp:
        assert resp.status == 404
    assert up.seen == []


def assert_small_error_page(status: int, expected: int, content_type: str, body: str) -> None:
    assert status == expected
    assert content_type == "text/html"
    assert len(body) < 4096
    assert f"{expected}" in body
    for leak in ("Traceback", 'File "', "aiohttp", "Error:"):
        assert leak not in body


async def test_502_on_refused_port_is_a_small_page(gateway: StartGateway) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gw = await gateway(f"http://127.0.0.1:{port}")
    async with gw.client.get("/x") as resp:
        assert_small_error_page(resp.status, 502, resp.content_type, await resp.text())
        assert resp.headers["X-Request-ID"] in await resp.text()


async def test_504_on_silent_upstream_is_a_small_page(gateway: StartGateway) -> None:
    async def silent(conn: RawConnection) -> None:
        await conn.request()
        await conn.wait_peer_close()

    async with raw_upstream(silent) as up:
        gw = await gateway(up.url, "proxy:\n  read_timeout: 0.5s\n")
        async with asyncio.timeout(5), gw.client.get("/x") as resp:
            assert_small_error_page(resp.status, 504, resp.content_type, await resp.text())


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/event-stream\r\n\r\n",
    ],
    ids=["content-length", "chunked-stream"],
)
async def test_a_head_whose_body_comes_late_reaches_the_client_at_once(
    gateway: StartGateway, head: bytes
) -> None:
    # The relayed head is held to leave with the body; when the upstream has sent no body yet
    # it must still go now: only the client seeing the head lets this upstream send the body.
    client_has_head = asyncio.Event()
    chunked = b"chunked" in head

    async def late_body(conn: RawConnection) -> None:
        await conn.request()
        await conn.send(head)
        await asyncio.wait_for(client_has_head.wait(), 5)
        await conn.send(b"5\r\nhello\r\n0\r\n\r\n" if chunked else b"hello")

    async with raw_upstream(late_body) as up:
        gw = await gateway(up.url)
        async with asyncio.timeout(10), gw.client.get("/late") as resp:
            assert resp.status == 200
            client_has_head.set()
            assert await resp.read() == b"hello"


async def test_an_answer_that_came_in_one_piece_is_relayed_whole(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    # Head and body leave in one send: the body, the head and the edits are all still there.
    up = await upstream()
    gw = await gateway(up.url)
    for _ in range(3):  # keep-alive: the held head does not leak into the next answer
        async with gw.client.get("/office/enrollments/7") as resp:
            assert resp.status == 200
            assert resp.headers["X-Request-ID"]
            assert await resp.text() == "upstream saw GET /office/enrollments/7"
    async with gw.client.head("/office/enrollments/7") as head:
        assert head.status == 200 and await head.read() == b""


async def test_the_upstream_client_sends_its_signals_through_one_trace() -> None:
    # aiohttp builds a trace and sends each signal once per TraceConfig for every request:
    # the head marker and the pool-wait marker share one (their effects are tested in
    # test_upload.py, test_upstream_errors.py and the in-flight tests).
    session = make_session(ProxyConfig())
    try:
        [trace] = session.trace_configs
        assert len(trace.on_request_headers_sent) == 1
        assert len(trace.on_connection_queued_start) == len(trace.on_connection_queued_end) == 1
    finally:
        await session.close()
