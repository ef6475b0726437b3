"""examples/plugin_app.py as a user runs it: a child process, its documented config, a browser's
cookies. Customers log in, staff switch the portal off at /office, customers are logged out
and get the unavailable page while /office keeps working, and a session from before the
disable does not come back with the re-enable."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

from tests.conftest import ROOT, SESSION_KEY
from tests.processes import ENV, free_port

EXAMPLE = ROOT / "examples" / "plugin_app.py"
DOCUMENTED_STORE = "file://examples/var/portal-settings.json"


@asynccontextmanager
async def _example(config: Path) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    port = free_port()
    env = {**ENV, "PORTAL_GATEWAY_SESSION_KEY": SESSION_KEY}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLE), "--config", str(config), "--port", str(port),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                try:
                    async with session.get(f"{url}/office") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientConnectorError:
                    await asyncio.sleep(0.05)
            else:
                raise AssertionError("examples/plugin_app.py did not start serving")
        yield url, proc
    finally:
        if proc.returncode is None:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 30)


def _browser() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # keeps IP cookies


def _config(tmp_path: Path) -> Path:
    # The documented store, replaced by one in tmp_path as a deployment would name its own.
    text = (ROOT / "examples" / "plugin.yaml").read_text(encoding="utf-8")
    assert DOCUMENTED_STORE in text
    config = tmp_path / "plugin.yaml"
    config.write_text(text.replace(DOCUMENTED_STORE, f"file://{tmp_path}/portal.json"))
    return config


async def _until(session: aiohttp.ClientSession, url: str, status: int) -> aiohttp.ClientResponse:
    for _ in range(100):  # the poller reads the store every second (ttl: 1)
        async with session.get(url, allow_redirects=False) as resp:
            await resp.read()
            if resp.status == status:
                return resp
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never answered {status}")


async def test_the_example_portal_switches_off_and_on(tmp_path: Path) -> None:
    async with _example(_config(tmp_path)) as (url, _), _browser() as customer:
        async with customer.post(f"{url}/login", data={"name": "Ana"}) as resp:
            assert resp.status == 200
            assert "Hello, Ana." in await resp.text()
        assert {c.key for c in customer.cookie_jar} == {"portal_session", "portal_gateway_stamp"}
        async with aiohttp.ClientSession() as staff:
            async with staff.post(f"{url}/office/portal", data={"enabled": "no"}) as resp:
                assert "Customer Portal is <b>disabled</b>" in await resp.text()
            page = await _until(customer, f"{url}/", 503)
            assert page.headers["Retry-After"] == "30"
            assert "portal_session" not in {c.key for c in customer.cookie_jar}  # logged out
            async with staff.get(f"{url}/office") as resp:
                assert resp.status == 200  # staff are never gated
            async with staff.post(f"{url}/office/portal", data={"enabled": "yes"}) as resp:
                assert resp.status == 200
        await _until(customer, f"{url}/", 303)  # back on: the customer must log in again
        async with customer.post(f"{url}/login", data={"name": "Ana"}) as resp:
            assert "Hello, Ana." in await resp.text()


async def test_a_session_from_before_the_disable_is_refused_after_it(tmp_path: Path) -> None:
    async with _example(_config(tmp_path)) as (url, _), _browser() as customer:
        async with customer.post(f"{url}/login", data={"name": "Bo"}) as resp:
            assert resp.status == 200
        kept = {c.key: c.value for c in customer.cookie_jar}  # a browser that ignored expiry
        assert set(kept) == {"portal_session", "portal_gateway_stamp"}
        async with aiohttp.ClientSession() as staff:
            async with staff.post(f"{url}/office/portal", data={"enabled": "no"}):
                pass
            await _until(customer, f"{url}/", 503)
            async with staff.post(f"{url}/office/portal", data={"enabled": "yes"}):
                pass
        cookie = "; ".join(f"{k}={v}" for k, v in kept.items())
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as replay:
            for _ in range(100):
                async with replay.get(
                    f"{url}/", headers={"Cookie": cookie}, allow_redirects=False
                ) as resp:
                    if resp.status != 503:
                        break
                await asyncio.sleep(0.1)
            # The app never saw the old session: it asks for a login, and the gate expires it.
            assert resp.status == 303
            assert resp.headers["Location"] == "/login"
            expired = [
                line for line in resp.headers.getall("Set-Cookie", []) if "Max-Age=0" in line
            ]
            assert any(line.startswith("portal_session=") for line in expired)


async def test_a_broken_config_exits_2_with_its_location(tmp_path: Path) -> None:
    config = tmp_path / "plugin.yaml"
    config.write_text("routes: []\n", encoding="utf-8")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLE), "--config", str(config),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV, cwd=ROOT,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert err.decode().startswith(f"{config}:1: ")
