"""`portal-gateway run` (gateway.cli.serve): serve until SIGTERM, re-read the config on SIGHUP."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import aiohttp
import pytest

from gateway.cli.serve import serve
from gateway.config import load_config
from tests.conftest import ENABLED_STORE, StartUpstream, config_text
from tests.processes import free_port, free_ports, gateway_process

OFFICE_ONLY = [{"name": "office", "paths": ["/office"], "upstream": "portal", "portal": "office"}]


async def answer(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(url) as resp:
        return resp.status


async def until(session: aiohttp.ClientSession, url: str, status: int) -> None:
    for _ in range(200):
        try:
            if await answer(session, url) == status:
                return
        except aiohttp.ClientConnectorError:
            pass
        await asyncio.sleep(0.02)
    raise AssertionError(f"{url} never answered {status}")


@pytest.mark.slow  # a process per store or per signal: seconds each on two shared cores
async def test_run_serves_and_stops_cleanly_on_sigterm(
    upstream: StartUpstream, tmp_path: Path
) -> None:
    up = await upstream()
    async with gateway_process(up.url, tmp_path) as gateway:
        async with (
            aiohttp.ClientSession() as session,
            session.get(gateway.url("/office/x")) as resp,
        ):
            assert (resp.status, await resp.text()) == (200, "upstream saw GET /office/x")
        assert await gateway.stop() == 0
        log = await gateway.log()
    # The test config has neither a change time nor a state file: start-up says what it costs.
    assert (
        f"WARNING gateway: {gateway.config}:4: settings: warning: neither "
        "settings.changed_at_field nor settings.state_file is set: a restart forgets the last "
        "disable" in log
    )


@pytest.mark.slow
async def test_sighup_applies_a_valid_config_and_keeps_the_running_one_on_error(
    upstream: StartUpstream, tmp_path: Path
) -> None:
    upstream_url = (await upstream()).url

    async def status(session: aiohttp.ClientSession, path: str) -> int:
        async with session.get(gateway.url(path)) as resp:
            return resp.status

    async with (
        gateway_process(upstream_url, tmp_path) as gateway,
        aiohttp.ClientSession() as session,
    ):
        await gateway.until(session, "/enroll", 200)
        # A broken file: logged, and the running config keeps serving.
        gateway.write_config(
            upstream_url, settings={"source": ENABLED_STORE, "field": "enabled", "ttl": "soon"}
        )
        gateway.proc.send_signal(signal.SIGHUP)
        await asyncio.sleep(0.3)
        assert await status(session, "/enroll") == 200
        # A valid file without the customer route: applied to the next request.
        office_route = "routes:\n  - name: office\n    paths: [/office]\n    upstream: portal\n    portal: office\n"
        gateway.write_config(upstream_url, routes=office_route)
        gateway.proc.send_signal(signal.SIGHUP)
        await gateway.until(session, "/enroll", 404)
        assert await status(session, "/office/x") == 200
        assert await gateway.stop() == 0
        log = await gateway.log()
    assert "settings.ttl: expected seconds" in log and "keeping the running config" in log
    assert "SIGHUP:" in log and "applied" in log


async def test_in_process_sighup_reloads_or_keeps_and_sigterm_returns_0(
    upstream: StartUpstream, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The same loop as the child process above, in this process: signals to ourselves."""
    up = await upstream()
    port = free_port()
    cfg = tmp_path / "run.yaml"
    listen = {"listen": f"127.0.0.1:{port}"}
    cfg.write_text(config_text(up.url, listen))
    caplog.set_level(logging.INFO, "gateway")
    task = asyncio.create_task(serve(load_config(cfg), config_path=str(cfg)))
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        await until(session, f"{base}/enroll", 200)
        bad = {"source": ENABLED_STORE, "field": "enabled", "ttl": "soon"}
        cfg.write_text(config_text(up.url, listen, settings=bad))
        os.kill(os.getpid(), signal.SIGHUP)
        await asyncio.sleep(0.1)
        assert await answer(session, f"{base}/enroll") == 200
        assert "keeping the running config" in caplog.text
        cfg.write_text(config_text(up.url, listen, routes=OFFICE_ONLY))
        os.kill(os.getpid(), signal.SIGHUP)
        await until(session, f"{base}/enroll", 404)
        assert await answer(session, f"{base}/office/x") == 200
        os.kill(os.getpid(), signal.SIGTERM)
        assert await asyncio.wait_for(task, 30) == 0
    assert f"SIGHUP: {cfg} applied" in caplog.text
    assert f"portal-gateway listening on http://127.0.0.1:{port} (config {cfg})" in caplog.text


async def test_admin_public_is_a_warning_at_start_and_applies_on_sighup(
    upstream: StartUpstream, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    up = await upstream()
    port, admin_port = free_ports(2)
    cfg = tmp_path / "run.yaml"
    listeners = {"listen": f"127.0.0.1:{port}", "admin_listen": f"127.0.0.1:{admin_port}"}
    cfg.write_text(config_text(up.url, {**listeners, "admin_public": True}))
    caplog.set_level(logging.INFO, "gateway")
    task = asyncio.create_task(serve(load_config(cfg), config_path=str(cfg)))
    base, admin = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{admin_port}"
    async with aiohttp.ClientSession() as session:
        await until(session, f"{base}/_gateway/readyz", 200)
        assert await answer(session, f"{base}/_gateway/metrics") == 200
        assert await answer(session, f"{admin}/_gateway/metrics") == 200
        # Off again with a SIGHUP: the next request on the public listener no longer sees it.
        cfg.write_text(config_text(up.url, listeners))
        os.kill(os.getpid(), signal.SIGHUP)
        await until(session, f"{base}/_gateway/metrics", 404)
        assert await answer(session, f"{base}/_gateway/healthz") == 200
        assert await answer(session, f"{admin}/_gateway/metrics") == 200
        os.kill(os.getpid(), signal.SIGTERM)
        assert await asyncio.wait_for(task, 30) == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        m.startswith(f"{cfg}:") and ": admin_public: warning: metrics, state and decision" in m
        for m in warnings
    )
    assert f"reserved endpoints on {admin}/_gateway/" in caplog.text
