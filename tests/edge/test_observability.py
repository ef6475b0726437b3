"""The access line of every request."""

from __future__ import annotations

import logging
import re

import pytest

from tests.conftest import StartGateway, StartUpstream


async def test_each_request_gets_one_access_line(
    upstream: StartUpstream, gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    gw = await gateway((await upstream()).url)
    caplog.set_level(logging.INFO, "gateway.access")
    async with gw.client.get("/office/a?b=1", headers={"X-Request-ID": "ignored"}) as resp:
        assert resp.status == 200
        body = await resp.read()
        rid = resp.headers["X-Request-ID"]
    await gw.set_enabled(False)
    async with gw.client.get("/enroll") as resp:
        assert resp.status == 503
        page = await resp.read()
        rid2 = resp.headers["X-Request-ID"]
    lines = [r.getMessage() for r in caplog.records if r.name == "gateway.access"]
    assert len(lines) == 2
    relayed = re.fullmatch(
        rf'127\.0\.0\.1 "GET /office/a\?b=1 HTTP/1\.1" 200 (\d+) route=office rid={rid} '
        r"time=\d+\.\d{3} reason=forwarded",
        lines[0],
    )
    # A relayed answer's size is what aiohttp wrote for it (head included, as it counts).
    assert relayed is not None and int(relayed.group(1)) >= len(body)
    # The gateway's own answer is logged before it is sent: its size is its Content-Length.
    assert re.fullmatch(
        rf'127\.0\.0\.1 "GET /enroll HTTP/1\.1" 503 {len(page)} route=customer rid={rid2} '
        r"time=\d+\.\d{3} reason=store",
        lines[1],
    )


async def test_no_access_line_is_built_when_the_log_is_off(
    upstream: StartUpstream, gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    gw = await gateway((await upstream()).url)
    caplog.set_level(logging.WARNING, "gateway.access")
    async with gw.client.get("/office/a") as resp:
        assert resp.status == 200
    assert [r for r in caplog.records if r.name == "gateway.access"] == []
