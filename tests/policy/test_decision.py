"""Allow and Deny: the gate's one answer, immutable, with safe defaults."""

from __future__ import annotations

import dataclasses

import pytest

from gateway.config import parse_config
from gateway.policy.decision import Allow, Deny
from gateway.wire.paths import canonicalize
from tests.conftest import config_text

ROUTE = parse_config(config_text("http://127.0.0.1:8081"), "t.yaml").routes[0]


def test_an_allow_passes_the_clients_cookies_untouched_unless_told_otherwise() -> None:
    allow = Allow(ROUTE, canonicalize("/public"), "portal.example.com")
    assert (allow.reason, allow.upstream_cookie, allow.cookie_edited) == ("forwarded", None, False)
    assert (allow.set_cookies, allow.withheld, allow.stamp) == ((), (), None)


def test_a_deny_keeps_the_connection_and_sets_no_cookie_by_default() -> None:
    deny = Deny(503, "customer_disabled", "unavailable")
    assert (deny.set_cookies, deny.close, deny.route, deny.detail) == ((), False, None, "")


def test_decisions_cannot_be_edited_after_the_gate_made_them() -> None:
    deny = Deny(404, "refused_404", "error")
    with pytest.raises(dataclasses.FrozenInstanceError):
        deny.status = 200  # type: ignore[misc]
    allow = Allow(ROUTE, canonicalize("/"), "h")
    with pytest.raises(dataclasses.FrozenInstanceError):
        allow.upstream_cookie = "portal_session=x"  # type: ignore[misc]
