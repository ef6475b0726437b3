"""`status --gateway URL`: a running gateway's view in the Office Portal's words, with the cause."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from gateway.cli.main import main
from gateway.cli.status import origin_of, state_lines
from tests.conftest import StartGateway, StartUpstream, config_text
from tests.processes import free_port


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8082", "http://127.0.0.1:8082"),
        ("http://127.0.0.1:8082/", "http://127.0.0.1:8082"),
        ("https://gw.example.com", "https://gw.example.com"),
        ("http://[::1]:8082", "http://[::1]:8082"),
        ("http://127.0.0.1:8082/_gateway", None),  # the prefix is not part of it
        ("http://127.0.0.1:8082?x=1", None),
        ("127.0.0.1:8082", None),
        ("ftp://127.0.0.1", None),
        ("http://127.0.0.1:port", None),
        ("http://", None),
    ],
)
def test_only_an_origin_is_a_gateway_url(url: str, expected: str | None) -> None:
    assert origin_of(url) == expected


BASE: dict[str, Any] = {
    "effective": "disabled",
    "cause": "store_unavailable",
    "store_value": "enabled",
    "store_changed_at": "2026-12-01T09:15:00.000Z",
    "last_error": None,
}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {},
            [
                "You are currently NOT using the Customer Portal.",
                "cause: store_unavailable (store last said: enabled, changed 2026-12-01T09:15:00.000Z)",
            ],
            id="outage",
        ),
        pytest.param(
            {"effective": "enabled", "cause": "store", "store_changed_at": None},
            [
                "You are currently using the Customer Portal.",
                "cause: store (store last said: enabled)",
            ],
            id="no-change-time",
        ),
        pytest.param(
            {"cause": "cold_start", "store_value": None, "store_changed_at": None},
            [
                "You are currently NOT using the Customer Portal.",
                "cause: cold_start (the store has not answered yet)",
            ],
            id="cold-start",
        ),
        pytest.param(
            {"last_error": "http://db:***@10.0.0.5/s: connection refused"},
            [
                "You are currently NOT using the Customer Portal.",
                "cause: store_unavailable (store last said: enabled, changed 2026-12-01T09:15:00.000Z)",
                "error: http://db:***@10.0.0.5/s: connection refused",
            ],
            id="with-the-error",
        ),
        pytest.param(
            {
                "cause": "override",
                "override": {
                    "action": "disable",
                    "until": "2026-12-01T10:00:00.000Z",
                    "reason": "billing run",
                    "by": "alice",
                },
            },
            [
                "You are currently NOT using the Customer Portal.",
                "cause: override (store last said: enabled, changed 2026-12-01T09:15:00.000Z)",
                "override: disable until 2026-12-01T10:00:00.000Z by alice: billing run",
            ],
            id="override",
        ),
        pytest.param(
            {"cause": "schedule", "retry_at": "2026-12-27T07:00:00.000Z"},
            [
                "You are currently NOT using the Customer Portal.",
                "cause: schedule (store last said: enabled, changed 2026-12-01T09:15:00.000Z)",
                "schedule: a window is in force until 2026-12-27T07:00:00.000Z",
            ],
            id="schedule",
        ),
    ],
)
def test_the_lines(changes: dict[str, Any], expected: list[str]) -> None:
    assert state_lines({**BASE, **changes}) == expected


async def status(*args: str) -> int:
    # main() runs its own event loop: off this one, in a thread.
    return await asyncio.to_thread(main, ["status", *args])


async def test_status_asks_the_running_gateway_not_the_store(
    upstream: StartUpstream, gateway: StartGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gw = await gateway((await upstream()).url)
    origin = f"http://127.0.0.1:{gw.port}"
    assert await status("--gateway", origin) == 0
    assert capsys.readouterr() == (
        "You are currently using the Customer Portal.\ncause: store (store last said: enabled)\n",
        "",
    )
    await gw.set_enabled(False, changed_at=1_796_116_500.0)
    assert await status("--gateway", origin + "/") == 0
    assert capsys.readouterr().out.splitlines() == [
        "You are currently NOT using the Customer Portal.",
        "cause: store (store last said: disabled, changed 2026-12-01T09:15:00.000Z)",
    ]


async def test_the_prefix_comes_from_the_config_when_given(
    upstream: StartUpstream,
    gateway: StartGateway,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    up = await upstream()
    gw = await gateway(up.url, "admin_prefix: /_ops\n")
    cfg = tmp_path / "gw.yaml"
    cfg.write_text(config_text(up.url, "admin_prefix: /_ops\n"))
    origin = f"http://127.0.0.1:{gw.port}"
    assert await status("--gateway", origin, "--config", str(cfg)) == 0
    assert capsys.readouterr().out.startswith("You are currently using the Customer Portal.\n")
    # Without the config: /_gateway/state, here a portal path like any other (proxied).
    assert await status("--gateway", origin) == 1
    assert capsys.readouterr() == (
        "",
        f"portal-gateway: {origin}/_gateway/state did not answer the gateway's state (not JSON)\n",
    )


async def test_an_unreachable_gateway_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = free_port()  # nothing listens
    assert await status("--gateway", f"http://127.0.0.1:{port}") == 1
    assert capsys.readouterr() == (
        "",
        f"portal-gateway: cannot reach the gateway at http://127.0.0.1:{port}/_gateway/state: "
        "Connection refused\n",
    )


async def test_an_answer_that_is_not_the_state_is_exit_1(
    aiohttp_server: AiohttpServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<html>a portal</html>", content_type="text/html")

    async def other(request: web.Request) -> web.Response:
        return web.json_response({"hello": "world"})

    app = web.Application()
    app.router.add_get("/_gateway/state", page)
    app.router.add_get("/_x/state", other)
    server = await aiohttp_server(app)
    origin = f"http://127.0.0.1:{server.port}"
    assert await status("--gateway", origin) == 1
    assert capsys.readouterr().err == (
        f"portal-gateway: {origin}/_gateway/state did not answer the gateway's state (not JSON)\n"
    )
    cfg = tmp_path / "x.yaml"
    cfg.write_text(config_text("http://127.0.0.1:8081", "admin_prefix: /_x\n"))
    assert await status("--gateway", origin, "--config", str(cfg)) == 1
    assert capsys.readouterr().err == (
        f"portal-gateway: {origin}/_x/state did not answer the gateway's state\n"
    )
    cfg.write_text(config_text("http://127.0.0.1:8081", "admin_prefix: /_nothing\n"))
    assert await status("--gateway", origin, "--config", str(cfg)) == 1
    assert capsys.readouterr().err == (
        f"portal-gateway: {origin}/_nothing/state answered 404; is this the admin listener?\n"
    )


def test_a_gateway_url_with_a_path_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--gateway", "http://127.0.0.1:8082/_gateway"]) == 2
    assert capsys.readouterr().err == (
        "portal-gateway: --gateway: expected the admin listener's origin, such as "
        "http://127.0.0.1:8082, got 'http://127.0.0.1:8082/_gateway'\n"
    )


def test_status_needs_a_config_or_a_gateway(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Neither --gateway nor --config, and no config in the default places: exit 2 naming them.
    module = importlib.import_module("gateway.cli.main")
    monkeypatch.setattr(module, "DEFAULT_CONFIGS", (str(tmp_path / "etc.yaml"), "./gateway.yaml"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["status"])
    assert info.value.code == 2
    assert capsys.readouterr().err == (
        f"portal-gateway: no config file: neither {tmp_path / 'etc.yaml'} nor ./gateway.yaml "
        "exists; pass --config FILE\n"
    )
