"""The self-check's judgement: the probe's source address and what a right answer is."""

from __future__ import annotations

import ipaddress

import pytest

from gateway.config import UNAVAILABLE_MESSAGE
from gateway.policy.selfcheck import is_unavailable_page, judge, passed, probe_source

PAGE = f"<html><p>{UNAVAILABLE_MESSAGE}</p></html>"


def nets(*cidrs: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(c) for c in cidrs]


def test_the_probe_comes_from_loopback_outside_the_allowlist() -> None:
    assert probe_source(nets()) == "127.0.0.1"
    assert probe_source(nets("127.0.0.1/32")) == "127.0.0.2"
    assert probe_source(nets("127.0.0.0/31", "10.0.0.0/8")) == "127.0.0.2"
    assert probe_source(nets("127.0.0.0/30", "::1/128")) == "127.0.0.4"
    assert probe_source(nets(), ipv6=True) == "::1"


def test_no_source_when_every_loopback_address_is_allowlisted() -> None:
    assert probe_source(nets("127.0.0.0/8")) is None
    assert probe_source(nets("::/0"), ipv6=True) is None
    assert probe_source(nets("::/0")) == "127.0.0.1"  # families are apart


@pytest.mark.parametrize(
    ("check", "enabled", "status", "body", "wrong"),
    [
        ("customer", False, 503, PAGE, None),
        ("customer", False, 200, "portal home", "got 200, not 503"),
        ("customer", False, 503, "maintenance", "lacks the unavailable sentence"),
        ("customer", True, 200, "portal home", None),
        ("customer", True, 302, "", None),
        ("customer", True, 503, PAGE, "enabled, but the customer check got the unavailable page"),
        ("office", False, 200, "office", None),
        ("office", False, 302, "", None),
        ("office", False, 503, PAGE, "office answered the unavailable page (503)"),
        ("office", True, 200, PAGE, "office answered the unavailable page (200)"),
    ],
)
def test_judge(check: str, enabled: bool, status: int, body: str, wrong: str | None) -> None:
    found = judge(check, enabled, status, body)  # type: ignore[arg-type]
    if wrong is None:
        assert found is None
    else:
        assert found is not None and wrong in found


def test_the_unavailable_page_is_a_503_with_the_sentence() -> None:
    assert is_unavailable_page(503, PAGE)
    assert not is_unavailable_page(200, PAGE)
    assert passed("customer", False, 503).endswith("got the unavailable page (503)")
    assert passed("office", True, 200) == "customer portal enabled: office check got 200"
