"""One session cookie for staff and customers (Django's `sessionid`): staff are never logged out.

The gateway never deletes a shared cookie in the browser. While the portal is disabled a
customer route is answered by the gateway (the cookie is simply not forwarded); after a
re-enable a stale one is withheld from customer routes only; office traffic passes untouched,
except that an office answer setting the cookie gets the gateway's stamp beside it.
"""

from __future__ import annotations

import itertools

from aiohttp import web

from tests.behaviour.test_session_stamps import Clock
from tests.conftest import Gateway, StartGateway, StartUpstream, Upstream

SHARED = "  shared_session_cookies: [sessionid]\n"
ROUTES = """\
routes:
  - name: assets
    paths: [/favicon.ico, /robots.txt, /static]
    upstream: portal
    portal: public
  - name: office
    paths: [/office]
    upstream: portal
    portal: office
  - name: customer
    paths: [/]
    upstream: portal
    portal: customer
"""


async def _django_like(upstream: StartUpstream) -> Upstream:
    """One login view for everyone, one `sessionid` cookie, as a Django project has."""
    ids = itertools.count(1)

    async def login(request: web.Request) -> web.StreamResponse:
        response = web.Response(text="welcome")
        response.set_cookie("sessionid", f"sid{next(ids)}", httponly=True, samesite="Lax")
        return response

    async def echo(request: web.Request) -> web.StreamResponse:
        return web.Response(text=request.headers.get("Cookie", "<no cookie>"))

    return await upstream({"/office/login": login, "/": echo})


async def _start(upstream: StartUpstream, gateway: StartGateway, clock: Clock) -> Gateway:
    up = await _django_like(upstream)
    gw = await gateway(up.url, routes=ROUTES, portal=SHARED, wall=clock)
    return gw


def _jar(set_cookies: list[str]) -> str:
    return "; ".join(line.split(";", 1)[0] for line in set_cookies)


async def _get(gw: Gateway, path: str, cookie: str) -> tuple[int, str, list[str]]:
    async with gw.client.get(path, headers={"Cookie": cookie}) as resp:
        return resp.status, await resp.text(), resp.headers.getall("Set-Cookie", [])


async def test_staff_stay_logged_in_through_a_disable_and_a_reenable(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    clock = Clock()
    gw = await _start(upstream, gateway, clock)
    async with gw.client.post("/office/login") as resp:
        set_cookies = resp.headers.getall("Set-Cookie")
    # The office answer is the upstream's, plus the gateway's stamp binding the new session.
    assert [c.split("=", 1)[0] for c in set_cookies] == ["sessionid", "portal_gateway_stamp"]
    staff = _jar(set_cookies)
    clock.now += 60
    await gw.set_enabled(False)
    # The browser's own requests to customer routes while disabled: answered, nothing expired.
    for path in ("/", "/enroll"):
        status, _, cookies = await _get(gw, path, staff)
        assert status == 503 and cookies == []
    status, body, cookies = await _get(gw, "/favicon.ico", staff)
    assert (status, cookies) == (200, [])
    status, body, cookies = await _get(gw, "/office/families", staff)
    assert status == 200 and body == staff and cookies == []  # untouched, stamp included
    clock.now += 60
    await gw.set_enabled(True)
    # The session began before the disable: withheld from customer routes, never deleted.
    status, body, cookies = await _get(gw, "/enroll", staff)
    assert (status, body) == (200, "<no cookie>")
    assert not any(c.startswith("sessionid=") for c in cookies)
    status, body, cookies = await _get(gw, "/office/families", staff)
    assert (status, body, cookies) == (200, staff, [])


async def test_a_staff_login_after_the_reenable_reaches_customer_routes(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    clock = Clock()
    gw = await _start(upstream, gateway, clock)
    await gw.set_enabled(False)
    clock.now += 60
    await gw.set_enabled(True)
    clock.now += 60
    async with gw.client.post("/office/login") as resp:
        staff = _jar(resp.headers.getall("Set-Cookie"))
    status, body, _ = await _get(gw, "/enroll", staff)
    assert status == 200 and body == staff.split("; ")[0]  # the session, not the stamp


async def test_an_office_answer_setting_no_shared_cookie_is_untouched(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    clock = Clock()
    gw = await _start(upstream, gateway, clock)
    await gw.set_enabled(False)
    status, body, cookies = await _get(gw, "/office/x", "sessionid=old; theme=dark")
    assert (status, body, cookies) == (200, "sessionid=old; theme=dark", [])
