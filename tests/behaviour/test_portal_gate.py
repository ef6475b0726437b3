"""While disabled: every customer action gets the unavailable answer; staff are untouched."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from aiohttp import web

from gateway.config import config_from_text
from gateway.policy import Deny, Gate, GateState, RequestFacts
from gateway.testing import MemorySource
from tests.conftest import StartGateway, StartUpstream, config_text, raw_exchange

MESSAGE = "Our Customer Portal is currently unavailable. Please check back later."

# What customers do in the Customer Portal (log in, resume a session, enroll, request a drop or
# a transfer, pay), as the demo portal (and a typical portal) spells it.
CUSTOMER_ACTIONS = [
    ("GET", "/login"),  # log in: the form
    ("POST", "/login"),  # log in: the submission
    ("GET", "/"),  # resume a current session
    ("GET", "/enroll"),
    ("POST", "/enroll"),  # create a new enrollment
    ("POST", "/drop"),  # submit a drop request
    ("POST", "/transfer"),  # submit a transfer request
    ("POST", "/pay"),  # make a payment
    ("PUT", "/api/enrollments/7"),
    ("DELETE", "/api/enrollments/7"),
    ("PATCH", "/account"),
    ("OPTIONS", "/pay"),
]


@pytest.mark.parametrize(("method", "path"), CUSTOMER_ACTIONS)
async def test_every_customer_action_gets_the_unavailable_page(
    upstream: StartUpstream, gateway: StartGateway, method: str, path: str
) -> None:
    up = await upstream()
    gw = await gateway(up.url, enabled=False)
    async with gw.client.request(
        method,
        path,
        data=b"amount=10" if method != "GET" else None,
        headers={"Cookie": "portal_session=abc"},
    ) as resp:
        body = await resp.text()
        assert resp.status == 503
        assert resp.headers["Retry-After"] == "120"
        assert resp.headers["Cache-Control"] == "no-store"
        assert resp.headers["Content-Type"].startswith("text/html")
        assert MESSAGE in body
        assert resp.headers.getall("Set-Cookie")[0].startswith("portal_session=; Max-Age=0;")
    assert up.seen == []  # the upstream was never contacted


async def test_json_clients_get_the_json_error(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url, enabled=False)
    async with gw.client.post("/pay", headers={"Accept": "application/json"}, data=b"x") as resp:
        assert resp.status == 503
        assert resp.headers["Content-Type"].startswith("application/json")
        assert json.loads(await resp.text()) == {
            "error": "customer_portal_unavailable",
            "message": MESSAGE,
        }
    async with gw.client.get("/", headers={"Accept": "text/html,application/json;q=0.9"}) as resp:
        assert resp.headers["Content-Type"].startswith("text/html")


async def test_head_gets_503_without_a_body(upstream: StartUpstream, gateway: StartGateway) -> None:
    up = await upstream()
    gw = await gateway(up.url, enabled=False)
    async with gw.client.head("/") as resp:
        assert resp.status == 503
        assert await resp.read() == b""


@pytest.mark.parametrize(
    ("cookie", "expired"),
    [
        ("portal_session=abc", ["portal_session"]),
        ("remember_web_59ba36=xyz; other=1", ["remember_web_59ba36"]),
        ('portal_session="quoted"; remember_me=1', ["portal_session", "remember_me"]),
        ("  portal_session = spaced ;theme=dark", ["portal_session"]),
        ("theme=dark; lang=en", []),
    ],
)
async def test_carried_session_cookies_are_expired(
    upstream: StartUpstream, gateway: StartGateway, cookie: str, expired: list[str]
) -> None:
    up = await upstream()
    gw = await gateway(up.url, enabled=False)
    async with gw.client.get("/", headers={"Cookie": cookie}) as resp:
        lines = resp.headers.getall("Set-Cookie", [])
    assert lines == [
        f"{name}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/" for name in expired
    ]


async def test_several_cookie_headers_are_all_read(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url, enabled=False)
    reply = await raw_exchange(
        gw.port,
        b"GET / HTTP/1.1\r\nHost: x\r\nCookie: theme=dark\r\nCookie: portal_session=abc\r\nConnection: close\r\n\r\n",
    )
    assert reply.startswith(b"HTTP/1.1 503")
    assert b"Set-Cookie: portal_session=; Max-Age=0;" in reply


def test_path_domain_and_prefixed_variants() -> None:
    text = config_text(
        "http://127.0.0.1:1",
        portal={
            "session_cookies": ["portal_session", "__Host-sid", "__Secure-*"],
            "cookie_paths": ["/", "/portal"],
            "cookie_domains": ["example.com"],
        },
    )
    config = config_from_text(text, "t.yaml")
    facts = RequestFacts(
        method="GET",
        target="/",
        host_lines=("x",),
        cookie_lines=("portal_session=1; __Host-sid=2; __Secure-tok=3",),
        accept="",
        client_ip="127.0.0.1",
        secure=False,
        started_at=1.0,
    )
    decision = Gate(config, b"k" * 32).decide(facts, GateState(False, 0.5))
    assert isinstance(decision, Deny) and decision.reason == "customer_disabled"
    lines = list(decision.set_cookies)
    expires = "Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
    assert lines == [
        f"portal_session=; {expires}; Path=/",
        f"portal_session=; {expires}; Path=/; Domain=example.com",
        f"portal_session=; {expires}; Path=/portal",
        f"portal_session=; {expires}; Path=/portal; Domain=example.com",
        f"__Host-sid=; {expires}; Path=/; Secure",
        f"__Secure-tok=; {expires}; Path=/; Secure",
        f"__Secure-tok=; {expires}; Path=/; Domain=example.com; Secure",
        f"__Secure-tok=; {expires}; Path=/portal; Secure",
        f"__Secure-tok=; {expires}; Path=/portal; Domain=example.com; Secure",
    ]


async def test_office_requests_reach_upstream_identically_while_disabled(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    async def office(request: web.Request) -> web.StreamResponse:
        response = web.Response(text="families")
        response.set_cookie("office_session", "s1")
        return response

    up = await upstream({"/office": office})
    gw = await gateway(up.url)
    headers = {"Cookie": "portal_session=abc; office_session=s1", "X-Custom": "1"}
    seen_as: list[list[tuple[str, str]]] = []
    for enabled in (True, False):
        await gw.set_enabled(enabled)
        async with gw.client.post(
            "/office/families?x=1", data=b"name=Lee", headers=headers
        ) as resp:
            assert resp.status == 200
            assert await resp.text() == "families"
            # The gateway adds no cookie to office answers: only the upstream's own.
            assert resp.headers.getall("Set-Cookie") == ["office_session=s1; Path=/"]
        seen = up.seen[-1]
        assert (seen.method, seen.raw_path, seen.body) == (
            "POST",
            "/office/families?x=1",
            b"name=Lee",
        )
        seen_as.append([(k, v) for k, v in seen.headers if k.lower() != "x-request-id"])
    assert seen_as[0] == seen_as[1]
    assert ("Cookie", "portal_session=abc; office_session=s1") in seen_as[1]


async def test_office_and_public_pass_while_the_store_is_down(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    assert isinstance(gw.source, MemorySource)
    gw.source.fail("connection refused")
    await gw.poller.refresh()
    for path in ("/office/payments", "/public/logo.svg"):
        async with gw.client.get(path) as resp:
            assert resp.status == 200, path
    # last-known (enabled) is kept for customers: an error never changes the state by itself.
    async with gw.client.get("/") as resp:
        assert resp.status == 200


@pytest.mark.slow
async def test_expect_100_continue_on_a_blocked_route_gets_503_not_100(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url, enabled=False)
    reply = await raw_exchange(
        gw.port,
        b"POST /pay HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
        read_timeout=2,
    )
    assert reply.startswith(b"HTTP/1.1 503 ")
    assert b"100 Continue" not in reply
    assert up.seen == []


async def _ws_upstream(request: web.Request) -> web.StreamResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for msg in ws:
        await ws.send_str(f"echo {msg.data}")
    return ws


async def test_disable_closes_open_customer_websockets_but_not_office(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream({"/live": _ws_upstream, "/office/live": _ws_upstream})
    gw = await gateway(up.url)
    async with (
        gw.client.ws_connect("/live/spaces") as customer,
        gw.client.ws_connect("/office/live") as office,
    ):
        await customer.send_str("hi")
        assert (await customer.receive()).data == "echo hi"
        await gw.set_enabled(False)
        msg = await asyncio.wait_for(customer.receive(), 5)
        assert msg.type == aiohttp.WSMsgType.CLOSE
        assert customer.close_code == 1013
        await office.send_str("still here")
        assert (await asyncio.wait_for(office.receive(), 5)).data == "echo still here"
    # New customer upgrades are refused with the 503 while disabled.
    async with gw.client.get(
        "/live/spaces", headers={"Upgrade": "websocket", "Connection": "Upgrade"}
    ) as resp:
        assert resp.status == 503


async def test_disable_cuts_an_open_customer_stream(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    release = asyncio.Event()

    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"first\n")
        await release.wait()
        await response.write(b"after disable\n")
        return response

    up = await upstream({"/events": stream})
    gw = await gateway(up.url)
    async with gw.client.get("/events") as resp:
        assert await resp.content.readline() == b"first\n"
        await gw.set_enabled(False)
        with pytest.raises(aiohttp.ClientPayloadError):
            await asyncio.wait_for(resp.content.read(), 5)
    release.set()


async def test_reenabling_lets_customers_back(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url, enabled=False)
    async with gw.client.get("/login") as resp:
        assert resp.status == 503
    await gw.set_enabled("on")
    async with gw.client.get("/login") as resp:
        assert resp.status == 200
        assert await resp.text() == "upstream saw GET /login"


async def test_decisions_are_counted_per_route_portal_and_decision(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url, enabled=False)
    for path in ("/", "/pay", "/office/x"):
        async with gw.client.get(path):
            pass
    async with gw.client.get("/_gateway/metrics") as resp:
        text = await resp.text()
    requests = "portal_gateway_requests_total"
    assert f'{requests}{{decision="blocked",portal="customer",route="customer"}} 2.0' in text
    assert f'{requests}{{decision="forwarded",portal="office",route="office"}} 1.0' in text
    assert "portal_gateway_customer_portal_enabled 0.0" in text
