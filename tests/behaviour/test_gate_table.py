"""The behaviour table through the three real front ends: proxy, /_gateway/decision, plugin.

Each case is sent over a real socket to a real gateway, once as a client of the proxy and once
as a proxy in front would ask forward-auth about it (nginx's header family), and once more to
an aiohttp app with the gate plugged in (gateway.plugin). All must reach the same Decision
(verdict, reason, cookies expired, cookies withheld); each front end's own translation
(statuses, what reaches the upstream or the app's handler) is asserted beside it.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from pytest_aiohttp import AiohttpServer

from gateway.edge.handler import GATEWAY
from gateway.policy import Decision, Gate, GateState, RequestFacts
from gateway.policy.runtime import Runtime
from tests.conftest import (
    SESSION_KEY,
    Gateway,
    StartGateway,
    StartUpstream,
    Upstream,
    raw_exchange,
)
from tests.plugin_apps import start_plugin_app
from tests.policy.cases import (
    CASES,
    DISABLED_AT,
    EXTRA,
    NOW,
    ROUTES,
    Case,
    outcome,
    portal_yaml,
    table_config,
)

FORWARD_AUTH = """\
forward_auth:
  proxy: nginx
proxy:
  trusted_proxies: [127.0.0.1/32]
"""


# The plugin's app behind a proxy on 127.0.0.1, which says who the client is.
TRUSTED = "proxy:\n  trusted_proxies: [127.0.0.1/32]\n"


class RecordingGate(Gate):
    """The real gate, keeping every decision it made so the test can compare them."""

    decisions: list[Decision]
    generation = 0  # the case's preview generation, over whatever the state says

    def decide(self, facts: RequestFacts, state: GateState) -> Decision:
        if self.generation > state.preview_generation:
            state = replace(state, preview_generation=self.generation)
        decision = super().decide(facts, state)
        self.decisions.append(decision)
        return decision


async def _gateway(
    upstream: StartUpstream, gateway: StartGateway, case: Case
) -> tuple[Gateway, RecordingGate, Upstream]:
    up = await upstream()
    gw = await gateway(
        up.url, EXTRA + FORWARD_AUTH, routes=ROUTES, portal=portal_yaml(case.mode), wall=lambda: NOW
    )
    config = gw.config
    handler = gw.client.app[GATEWAY]
    gate = RecordingGate(config, SESSION_KEY.encode())
    gate.decisions = []
    gate.generation = case.generation
    handler.runtime = Runtime(config, gate)
    if case.disabled_at is not None:
        await gw.set_enabled(False, changed_at=case.disabled_at)
        await gw.set_enabled(True, changed_at=case.disabled_at + 1)
    if not case.enabled:
        await gw.set_enabled(False, changed_at=DISABLED_AT)
    return gw, gate, up


def _status(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])


def _set_cookie_names(reply: bytes) -> list[str]:
    head = reply.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return [
        line.split(":", 1)[1].strip().split("=", 1)[0]
        for line in head.split("\r\n")
        if line.lower().startswith("set-cookie:") and "Max-Age=0" in line
    ]


def _proxy_request(case: Case) -> bytes:
    version = case.extra.get("version", "1.1")
    lines = [f"{case.method} {case.target} HTTP/{version}", f"Host: {case.host}"]
    lines.append("Connection: close")
    if case.client:
        lines.append(f"X-Forwarded-For: {case.client}")  # the peer is a trusted proxy
    if case.cookie_header():
        lines.append(f"Cookie: {case.cookie_header()}")
    body = ""
    if "te" in case.extra:
        lines.append(f"Transfer-Encoding: {case.extra['te']}")
        body = "0\r\n\r\n"
    elif case.method == "POST":
        lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def _ask_request(case: Case) -> bytes:
    # What config/nginx-forward-auth.conf makes nginx send to the admin listener.
    lines = [
        "GET /_gateway/decision HTTP/1.1",
        "Host: 127.0.0.1",
        f"X-Original-Method: {case.method}",
        f"X-Original-URI: {case.target}",
        f"X-Forwarded-Host: {case.host}",
        f"X-Real-IP: {case.client or '203.0.113.7'}",
        "X-Forwarded-Proto: http",
        "Connection: close",
    ]
    if case.cookie_header():
        lines.append(f"Cookie: {case.cookie_header()}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_the_proxy_front_end(
    upstream: StartUpstream, gateway: StartGateway, case: Case
) -> None:
    gw, gate, up = await _gateway(upstream, gateway, case)
    reply = await raw_exchange(gw.port, _proxy_request(case))
    if "parser" in case.extra:
        # aiohttp's HTTP parser refuses this framing before the gate is asked; the pure table
        # (tests/policy/test_decide.py) holds the gate's own answer to it.
        assert gate.decisions == []
    else:
        (decision,) = gate.decisions
        assert outcome(decision) == (case.expect, case.reason, case.expired, case.withheld)
    verdict, _, status = case.expect.partition(" ")
    if verdict == "deny":
        assert _status(reply) == int(status)
        assert up.seen == []
    else:
        assert _status(reply) == 200
        (seen,) = up.seen
        sent = "; ".join(seen.header("Cookie"))
        for name in (*case.withheld, "portal_gateway_stamp"):
            assert f"{name}=" not in sent
    assert sorted(set(_set_cookie_names(reply))) == sorted(case.expired)


@pytest.mark.parametrize("case", [c for c in CASES if not c.proxy_only], ids=lambda c: c.id)
async def test_the_forward_auth_front_end(
    upstream: StartUpstream, gateway: StartGateway, case: Case
) -> None:
    gw, gate, up = await _gateway(upstream, gateway, case)
    reply = await raw_exchange(gw.port, _ask_request(case))
    assert up.seen == []  # forward-auth never touches the upstream
    (decision,) = gate.decisions
    assert outcome(decision) == (case.expect, case.reason, case.expired, case.withheld)
    verdict, _, status = case.expect.partition(" ")
    assert _status(reply) == (int(status) if verdict == "deny" else 204)
    assert sorted(set(_set_cookie_names(reply))) == sorted(case.expired)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_the_plugin_front_end(aiohttp_server: AiohttpServer, case: Case) -> None:
    config = table_config(extra=TRUSTED, mode=case.mode)
    app = await start_plugin_app(aiohttp_server, config, wall=lambda: NOW)
    gate = RecordingGate(config, SESSION_KEY.encode())
    gate.decisions = []
    gate.generation = case.generation
    app.gate.runtime = Runtime(config, gate)
    if case.disabled_at is not None:
        await app.set_enabled(False, changed_at=case.disabled_at)
        await app.set_enabled(True, changed_at=case.disabled_at + 1)
    if not case.enabled:
        await app.set_enabled(False, changed_at=DISABLED_AT)
    # The bytes a client of the proxy sends: the app's own server parses them alike.
    reply = await raw_exchange(app.port, _proxy_request(case))
    if "parser" in case.extra:
        assert gate.decisions == []
    else:
        (decision,) = gate.decisions
        assert outcome(decision) == (case.expect, case.reason, case.expired, case.withheld)
    verdict, _, status = case.expect.partition(" ")
    if verdict == "deny":
        assert _status(reply) == int(status)
        assert app.seen == []  # the app's handler never ran
    else:
        assert _status(reply) == 200
        (seen,) = app.seen
        assert seen.method == case.method
        sent = seen.cookie()
        for name in (*case.withheld, "portal_gateway_stamp"):
            assert f"{name}=" not in sent
        if case.cookie and not case.withheld:
            assert sent == case.cookie  # nothing withheld: the app saw the client's cookies
    assert sorted(set(_set_cookie_names(reply))) == sorted(case.expired)
