"""The self-check through real HTTP: the gateway's own listener, a real upstream, real flips."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from aiohttp import web

from gateway.config import UNAVAILABLE_MESSAGE, config_from_text
from gateway.edge.reload import apply_config
from gateway.edge.selfcheck import SELF_CHECK, SelfChecker
from tests.conftest import (
    ENABLED_STORE,
    Gateway,
    StartGateway,
    StartUpstream,
    config_data,
    config_yaml,
)

CHECKS = {"self_check": {"customer": "/enroll", "office": "/office/settings"}}
# A short TTL: a failure is reported once one TTL of retries has passed.
FAST = {"source": ENABLED_STORE, "field": "enabled", "ttl": 0.3}


def checker(gw: Gateway) -> SelfChecker:
    return gw.client.app[SELF_CHECK]


async def rounds(gw: Gateway, count: int) -> None:
    """Wait until `count` rounds have finished (each is real requests; bounded)."""
    for _ in range(200):
        if checker(gw).rounds >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{checker(gw).rounds} self-check rounds, expected {count}")


async def state(gw: Gateway) -> dict[str, Any]:
    async with gw.client.get("/_gateway/state") as resp:
        document: dict[str, Any] = json.loads(await resp.text())
        return document


async def gauge(gw: Gateway) -> dict[str, float]:
    async with gw.client.get("/_gateway/metrics") as resp:
        text = await resp.text()
    out = {}
    for line in text.splitlines():
        if line.startswith("portal_gateway_self_check_ok{"):
            labels, _, number = line.rpartition(" ")
            out[labels.split('"')[1]] = float(number)
    return out


async def test_checks_at_start_and_after_each_flip_through_the_listener(
    upstream: StartUpstream, gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "gateway.selfcheck")
    up = await upstream()
    gw = await gateway(up.url, portal=CHECKS)
    await rounds(gw, 1)
    document = (await state(gw))["self_check"]
    assert document["customer"]["ok"] is True and document["office"]["ok"] is True
    assert document["customer"]["at"].endswith("Z")
    assert await gauge(gw) == {"customer": 1.0, "office": 1.0}
    # Real requests, through the gateway to the upstream: no cookie, from loopback.
    probes = [s for s in up.seen if s.raw_path in ("/enroll", "/office/settings")]
    assert {s.raw_path for s in probes} == {"/enroll", "/office/settings"}
    for seen in probes:
        assert seen.header("Cookie") == []
        assert seen.header("X-Forwarded-For") == ["127.0.0.1"]
        assert seen.header("Host") == ["localhost"]
    await gw.set_enabled(False)
    await rounds(gw, 2)
    document = (await state(gw))["self_check"]
    assert document["customer"] == {
        "ok": True,
        "at": document["customer"]["at"],
        "detail": "customer portal disabled: customer check got the unavailable page (503)",
        "skipped": False,
    }
    assert document["office"]["ok"] is True
    # The customer probe of the disabled round was refused at the edge: never forwarded.
    assert [s.raw_path for s in up.seen].count("/enroll") == 1
    assert "self-check customer passed" in caplog.text


async def test_a_misrouted_office_path_is_reported_after_one_ttl(
    upstream: StartUpstream, gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    """The office route's upstream answers the unavailable page: staff would be locked out."""
    caplog.set_level(logging.INFO, "gateway.selfcheck")
    broken = {"broken": True}

    async def office(request: web.Request) -> web.Response:
        if broken["broken"]:
            return web.Response(status=503, text=f"<p>{UNAVAILABLE_MESSAGE}</p>")
        return web.Response(text="office settings")

    up = await upstream({"/office": office})
    gw = await gateway(up.url, portal=CHECKS, settings=FAST)
    await rounds(gw, 1)
    document = (await state(gw))["self_check"]
    assert document["office"]["ok"] is False
    assert document["office"]["detail"] == (
        "office answered the unavailable page (503): localhost/office/settings"
    )
    assert document["customer"]["ok"] is True
    assert await gauge(gw) == {"customer": 1.0, "office": 0.0}
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in failures] == [
        "self-check office FAILED: office answered the unavailable page (503): "
        "localhost/office/settings"
    ]
    # Retried for one TTL before the failure, not reported on the first answer.
    tries = [s for s in up.seen if s.raw_path == "/office/settings"]
    assert len(tries) > 1
    broken["broken"] = False
    await gw.set_enabled(False)
    await rounds(gw, 2)
    assert (await state(gw))["self_check"]["office"]["ok"] is True
    assert await gauge(gw) == {"customer": 1.0, "office": 1.0}
    assert "self-check office passes again" in caplog.text


async def test_a_customer_route_that_answers_the_page_while_enabled_fails(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    async def stuck(request: web.Request) -> web.Response:
        return web.Response(status=503, text=UNAVAILABLE_MESSAGE)

    up = await upstream({"/enroll": stuck})
    gw = await gateway(up.url, portal=CHECKS, settings=FAST)
    await rounds(gw, 1)
    customer = (await state(gw))["self_check"]["customer"]
    assert customer["ok"] is False
    assert customer["detail"].startswith("customer portal enabled, but the customer check got")


async def test_skipped_in_shadow_mode(upstream: StartUpstream, gateway: StartGateway) -> None:
    up = await upstream()
    gw = await gateway(up.url, portal={**CHECKS, "mode": "shadow"})
    await rounds(gw, 1)
    await gw.set_enabled(False)
    await rounds(gw, 2)
    document = await state(gw)
    assert document["mode"] == "shadow"
    for check in ("customer", "office"):
        assert document["self_check"][check]["skipped"] is True
        assert document["self_check"][check]["ok"] is None
    assert await gauge(gw) == {}  # neither passed nor failed
    assert [s.raw_path for s in up.seen] == []  # no probe sent


async def test_no_self_check_configured(upstream: StartUpstream, gateway: StartGateway) -> None:
    gw = await gateway((await upstream()).url)
    await gw.set_enabled(False)
    document = await state(gw)
    assert (document["self_check"], document["mode"]) == (None, "enforce")


async def test_a_reload_out_of_shadow_mode_checks_again(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url, portal={**CHECKS, "mode": "shadow"})
    await rounds(gw, 1)
    data = config_data(up.url, portal=CHECKS, admin_public=True)
    apply_config(gw.client.app, config_from_text(config_yaml(data), "test.yaml"))
    await rounds(gw, 2)
    document = await state(gw)
    assert document["mode"] == "enforce"
    assert document["self_check"]["customer"]["ok"] is True
    assert document["self_check"]["office"]["ok"] is True


async def test_the_probe_binds_a_source_outside_the_allowlisted_networks(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    # 127.0.0.1 is a staff network here.
    up = await upstream()
    gw = await gateway(up.url, portal={**CHECKS, "allow_while_disabled": ["127.0.0.1/32"]})
    await rounds(gw, 1)
    probes = [s for s in up.seen if s.raw_path in ("/enroll", "/office/settings")]
    assert probes and {tuple(s.header("X-Forwarded-For")) for s in probes} == {("127.0.0.2",)}


async def test_no_source_left_is_a_failure_not_a_probe_from_a_staff_network(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    staff = {**CHECKS, "allow_while_disabled": ["127.0.0.0/8"]}
    gw = await gateway(up.url, portal=staff, settings=FAST)
    await rounds(gw, 1)
    customer = (await state(gw))["self_check"]["customer"]
    assert customer["ok"] is False
    assert (
        customer["detail"] == "no loopback address outside the allowlisted networks to probe from"
    )
    assert up.seen == []
