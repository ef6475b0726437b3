"""Issue #11: the timed override and scheduled windows, through real HTTP.

A real gateway in front of a real upstream, the control file written as the CLI writes it, the
poller's wall clock injected so an override or a window ends without anyone waiting for it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from gateway.cli.status import fetch_state, state_lines
from gateway.policy.preview import PreviewCodec
from gateway.settings.control import Control, Override, save_control
from tests.conftest import ENABLED_STORE, SESSION_KEY, Gateway, StartGateway, StartUpstream
from tests.plugin_apps import start_plugin_app

TTL = 0.1


class Wall:
    """The injected epoch clock: real time plus whatever the test skipped ahead."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def __call__(self) -> float:
        return time.time() + self.skipped


def settings(control: Path, **more: Any) -> dict[str, Any]:
    return {
        "source": ENABLED_STORE,
        "field": "enabled",
        "ttl": TTL,
        "override_file": str(control),
        **more,
    }


async def until(check: Callable[[], Any], seconds: float = 5.0) -> None:
    """Wait (polling) until `check()` is true: the poller does it by itself, on its TTL."""
    deadline = time.monotonic() + seconds
    while not await check() if asyncio.iscoroutinefunction(check) else not check():
        assert time.monotonic() < deadline, "the poller never got there"
        await asyncio.sleep(TTL / 2)


async def status_of(gw: Gateway, path: str = "/account") -> int:
    async with gw.client.get(path) as resp:
        await resp.read()
        return resp.status


async def test_an_override_disable_blocks_customers_lets_office_pass_and_expires_by_itself(
    upstream: StartUpstream,
    gateway: StartGateway,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "gateway.access")
    control, wall = tmp_path / "control.json", Wall()
    gw = await gateway((await upstream()).url, settings=settings(control), wall=wall)
    assert await status_of(gw) == 200
    ends = wall() + 600
    save_control(
        str(control),
        Control(Override("disable", ends, "billing run", "Back after the run", "alice", wall())),
    )
    await until(lambda: not gw.poller.state.enabled)
    async with gw.client.get("/account", headers={"Accept": "application/json"}) as resp:
        assert resp.status == 503
        # Retry-After: the seconds until the override ends, not customer_portal.retry_after.
        assert 590 <= int(resp.headers["Retry-After"]) <= 600
    assert await status_of(gw, "/office/staff") == 200
    assert await status_of(gw, "/public/x") == 200
    async with gw.client.get("/_gateway/metrics") as resp:
        metrics = await resp.text()
    assert 'portal_gateway_customer_portal_state{cause="override"} 1.0' in metrics
    assert 'portal_gateway_customer_portal_state{cause="store"} 0.0' in metrics
    refused = [e for e in gw.access_json() if e["path"] == "/account" and e["status"] == 503]
    assert refused and refused[0]["reason"] == "override"
    document = await fetch_state(str(gw.client.make_url("/_gateway/state")))
    assert document["cause"] == "override"
    assert document["override"]["action"] == "disable"
    assert document["override"]["by"] == "alice"
    assert document["override"]["reason"] == "billing run"
    assert document["override"]["until"].endswith("Z")
    lines = state_lines(document)
    assert lines[0] == "You are currently NOT using the Customer Portal."
    assert lines[1].startswith("cause: override")
    assert lines[2].startswith("override: disable until ") and "by alice: billing run" in lines[2]
    disabled_at = gw.poller.state.last_disabled_at
    assert disabled_at is not None

    wall.skipped = 601.0  # the override's end passes; nobody touches the file
    await until(lambda: gw.poller.state.enabled)
    assert gw.poller.state.cause == "store"
    assert gw.poller.state.override is None
    assert await status_of(gw) == 200
    # SECURITY: the end of an override disable is a disable's end: older sessions are stale.
    assert (gw.poller.state.last_disabled_at or 0) > disabled_at
    assert gw.poller.state.last_disabled_at == pytest.approx(ends, abs=5)


async def test_an_override_enable_never_overrules_staff(
    upstream: StartUpstream, gateway: StartGateway, tmp_path: Path
) -> None:
    control = tmp_path / "control.json"
    gw = await gateway((await upstream()).url, settings=settings(control), enabled=False)
    save_control(str(control), Control(Override("enable", time.time() + 600, "outage")))
    await gw.poller.refresh()
    await gw.poller.refresh()
    assert await status_of(gw) == 503
    assert (gw.poller.state.enabled, gw.poller.state.cause) == (False, "store")
    assert gw.poller.state.override is not None  # seen, shown, but it cannot switch staff's off


async def test_a_schedule_window_disables_and_retry_after_counts_down(
    upstream: StartUpstream, gateway: StartGateway, tmp_path: Path
) -> None:
    wall = Wall()
    now = time.time()
    window = {
        "from": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 60)),
        "to": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now + 300)),
        "message": "Closed for maintenance",
    }
    gw = await gateway(
        (await upstream()).url,
        settings=settings(tmp_path / "control.json"),
        portal={"schedule": [window]},
        wall=wall,
    )
    assert (gw.poller.state.enabled, gw.poller.state.cause) == (False, "schedule")
    assert gw.poller.state.message == "Closed for maintenance"

    async def retry_after() -> int:
        async with gw.client.get("/account") as resp:
            assert resp.status == 503
            return int(resp.headers["Retry-After"])

    first = await retry_after()
    assert 295 <= first <= 300
    wall.skipped = 200.0
    assert 95 <= await retry_after() <= 100
    wall.skipped = 299.5
    assert await retry_after() == 1  # never 0
    assert await status_of(gw, "/office/x") == 200
    wall.skipped = 301.0
    await until(lambda: gw.poller.state.enabled)
    assert (gw.poller.state.cause, gw.poller.state.retry_at) == ("store", None)
    assert await status_of(gw) == 200


async def test_a_world_writable_control_file_is_ignored_and_logged(
    upstream: StartUpstream,
    gateway: StartGateway,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    control = tmp_path / "control.json"
    save_control(str(control), Control(Override("disable", time.time() + 600, "planted")))
    os.chmod(control, 0o666)  # noqa: S103 - the refused case itself
    caplog.set_level(logging.WARNING, "gateway.settings")
    # A read timeout far past the TTL's 0.1 s: on a loaded machine the thread reading the file
    # may start late, and a timeout is a refusal of its own, not the one this test is about.
    gw = await gateway((await upstream()).url, settings=settings(control, timeout=5.0))
    await gw.poller.refresh()
    assert await status_of(gw) == 200  # the store decides
    assert gw.poller.state.override is None
    refused = [r for r in caplog.records if "control file refused" in r.getMessage()]
    assert len(refused) == 1 and "world-writable" in refused[0].getMessage()
    assert refused[0].levelno == logging.ERROR
    os.chmod(control, 0o644)
    await until(lambda: not gw.poller.state.enabled)
    assert gw.poller.state.cause == "override"
    assert any("override disable by" in r.getMessage() for r in caplog.records)


FORWARD_AUTH = {"forward_auth": {"proxy": "caddy"}, "proxy": {"trusted_proxies": ["127.0.0.1/32"]}}


async def test_every_front_end_refuses_under_an_override_with_its_retry_after(
    upstream: StartUpstream,
    gateway: StartGateway,
    aiohttp_server: AiohttpServer,
    tmp_path: Path,
) -> None:
    control = tmp_path / "control.json"
    save_control(str(control), Control(Override("disable", time.time() + 900, "migration")))
    gw = await gateway((await upstream()).url, FORWARD_AUTH, settings=settings(control))
    headers = {
        "X-Forwarded-Method": "GET",
        "X-Forwarded-Uri": "/account",
        "X-Forwarded-Host": "portal.example",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": "203.0.113.7",
    }
    async with gw.client.get("/_gateway/decision", headers=headers) as resp:
        await resp.read()
        assert resp.status == 503
        assert 890 <= int(resp.headers["Retry-After"]) <= 900
    app = await start_plugin_app(aiohttp_server, gw.config)
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{app.port}/account") as resp:
            assert resp.status == 503
            assert 890 <= int(resp.headers["Retry-After"]) <= 900
        async with session.get(f"http://127.0.0.1:{app.port}/office/x") as resp:
            assert resp.status == 200


async def test_a_session_from_before_an_override_disable_is_logged_out_after_it_ends(
    upstream: StartUpstream, gateway: StartGateway, tmp_path: Path
) -> None:
    tokens = iter(range(1, 100))

    async def login(request: web.Request) -> web.StreamResponse:
        response = web.Response(text="welcome")
        response.set_cookie("portal_session", f"s{next(tokens)}")
        return response

    async def home(request: web.Request) -> web.StreamResponse:
        return web.Response(text=request.headers.get("Cookie", "<no cookie>"))

    control, wall = tmp_path / "control.json", Wall()
    up = await upstream({"/login": login, "/home": home})
    gw = await gateway(up.url, settings=settings(control), wall=wall)
    async with gw.client.post("/login") as resp:
        jar = {
            line.split(";", 1)[0].partition("=")[0]: line.split(";", 1)[0].partition("=")[2]
            for line in resp.headers.getall("Set-Cookie")
        }
    cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
    async with gw.client.get("/home", headers={"Cookie": cookie}) as resp:
        assert await resp.text() == f"portal_session={jar['portal_session']}"
    wall.skipped = 10.0
    save_control(str(control), Control(Override("disable", wall() + 60, "migration")))
    await until(lambda: not gw.poller.state.enabled)
    wall.skipped = 71.0  # the override ends by itself
    await until(lambda: gw.poller.state.enabled)
    async with gw.client.get("/home", headers={"Cookie": cookie}) as resp:
        assert resp.status == 200
        # SECURITY: an override disable is a disable: the old session does not come back.
        assert await resp.text() == "<no cookie>"
        assert any(
            c.startswith("portal_session=; Max-Age=0") for c in resp.headers.getall("Set-Cookie")
        )


async def test_a_gateway_started_on_a_refused_control_file_revives_no_revoked_link(
    upstream: StartUpstream, gateway: StartGateway, tmp_path: Path
) -> None:
    codec = PreviewCodec(SESSION_KEY.encode())
    control = tmp_path / "control.json"
    save_control(str(control), Control(None, 3))  # links of generations 0-2 were revoked
    os.chmod(control, 0o664)  # then someone loosened it, and the gateway restarts
    gw = await gateway((await upstream()).url, settings=settings(control, timeout=5.0))
    await gw.set_enabled(False)

    async def opens(generation: int) -> int:
        link = f"/_gateway/preview/{codec.issue(time.time() + 600, generation)}"
        async with gw.client.get(link, allow_redirects=False) as resp:
            return resp.status

    assert await opens(0) == 404  # revoked stays revoked, though the file cannot be read
    assert await opens(3) == 404  # and nothing passes until a good read
    os.chmod(control, 0o644)
    await gw.poller.refresh()
    assert (await opens(0), await opens(3)) == (404, 303)
