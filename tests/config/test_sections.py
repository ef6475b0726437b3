"""The `settings`, `customer_portal` and `proxy` sections, parsed from text alone."""

from __future__ import annotations

import ipaddress

import pytest
import yaml

from gateway.config import ConfigError, ProxyConfig, parse_config
from tests.conftest import ENABLED_STORE, config_text

BASE = config_text("http://127.0.0.1:8081")


def parse(text: str) -> object:
    return parse_config(text, "s.yaml")


def errors_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "s.yaml")
    return [f"{i.key}: {i.message}" for i in info.value.issues]


def test_settings_common_keys_and_their_defaults() -> None:
    store = {"source": ENABLED_STORE, "field": "enabled", "ttl": 1}
    one_second = config_text("http://127.0.0.1:8081", settings=store)
    settings = parse_config(one_second, "s.yaml").settings
    assert (settings.ttl, settings.timeout, settings.on_error, settings.cold_start) == (
        1.0,
        1.0,  # min(1.5, ttl)
        "last-known",
        "disabled",
    )
    assert dict(settings.options) == {"field": "enabled"}


def test_settings_without_a_source() -> None:
    assert errors_of(BASE.replace("settings:\n", "settings: {}\nold:\n")) == [
        "settings.source: required (a URL)",
        "old: unknown key",
    ]
    assert errors_of(BASE.replace("settings:\n", "old:\n")) == [
        "settings.source: required",  # at line 1: there is no settings section to point at
        "old: unknown key",
    ]


def test_customer_portal_cookie_names_paths_and_domains_are_checked() -> None:
    text = config_text(
        "http://127.0.0.1:8081",
        portal={
            "shared_session_cookies": ["a b"],
            "cookie_paths": ["x"],
            "cookie_domains": ["bad domain"],
            "stamp_cookie": "a;b",
        },
    )
    assert errors_of(text) == [
        "customer_portal.shared_session_cookies[0]: expected a cookie name or pattern, got 'a b'",
        "customer_portal.cookie_paths[0]: expected a cookie path (/), got 'x'",
        "customer_portal.cookie_domains[0]: expected a domain, got 'bad domain'",
        "customer_portal.stamp_cookie: expected a cookie name, got 'a;b'",
    ]


def test_proxy_defaults_and_values() -> None:
    assert parse_config(BASE, "s.yaml").proxy == ProxyConfig()
    proxy = parse_config(
        BASE + "proxy:\n  trusted_proxies: [10.0.0.0/8, '::1']\n  via: edge-1\n"
        "  escaped_slashes: keep\n  emit_forwarded: true\n  websocket_max_message: 1m\n",
        "s.yaml",
    ).proxy
    assert proxy.trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("::1"),
    )
    assert (proxy.via, proxy.escaped_slashes, proxy.emit_forwarded) == ("edge-1", "keep", True)
    assert proxy.websocket_max_message == 1024 * 1024


def test_proxy_errors() -> None:
    text = BASE + "proxy:\n  trusted_proxies: [nowhere]\n  via: 'a b'\n  emit_forwarded: 1\n"
    assert errors_of(text) == [
        "proxy.trusted_proxies[0]: expected an IP or CIDR, got 'nowhere'",
        "proxy.via: expected a token (letters, digits, . _ -), got 'a b'",
        "proxy.emit_forwarded: expected true or false, got 1",
    ]


def test_proxy_max_connections() -> None:
    # None: computed at start from the open-files limit (gateway/edge/limits.py).
    assert parse_config(BASE, "s.yaml").proxy.max_connections is None
    proxy = parse_config(BASE + "proxy:\n  max_connections: 500\n", "s.yaml").proxy
    assert proxy.max_connections == 500
    for bad in ("0", "-1", "many", "1.5"):
        assert errors_of(BASE + f"proxy:\n  max_connections: {bad}\n") == [
            f"proxy.max_connections: expected a whole number >= 1, got {parse_scalar(bad)!r}"
        ]


def parse_scalar(text: str) -> object:
    return yaml.safe_load(text)


def test_staff_networks_are_parsed_and_checked_with_their_lines() -> None:
    nets = ["10.20.0.0/16", "2001:db8::/48", "192.0.2.7"]
    text = config_text("http://127.0.0.1:8081", portal={"allow_while_disabled": nets})
    portal = parse_config(text, "s.yaml").customer_portal
    assert portal.allow_while_disabled == (
        ipaddress.ip_network("10.20.0.0/16"),
        ipaddress.ip_network("2001:db8::/48"),
        ipaddress.ip_network("192.0.2.7/32"),
    )
    assert parse(BASE).customer_portal.allow_while_disabled == ()  # type: ignore[attr-defined]
    bad = config_text(
        "http://127.0.0.1:8081", portal={"allow_while_disabled": ["10.0.0.0/8", "staff"]}
    )
    with pytest.raises(ConfigError) as info:
        parse_config(bad, "s.yaml")
    (issue,) = info.value.issues
    assert str(issue) == (
        f"s.yaml:{bad.splitlines().index('  - staff') + 1}: "
        "customer_portal.allow_while_disabled[1]: expected an IP or CIDR, got 'staff'"
    )
    everyone = config_text("http://127.0.0.1:8081", portal={"allow_while_disabled": ["::/0"]})
    assert errors_of(everyone) == [
        "customer_portal.allow_while_disabled[0]: '::/0' is every address, not a staff network"
    ]
    scalar = config_text("http://127.0.0.1:8081", portal={"allow_while_disabled": 7})
    assert errors_of(scalar) == [
        "customer_portal.allow_while_disabled: expected a list of strings, got 7"
    ]


def test_max_override_is_a_duration_defaulting_to_24h() -> None:
    assert parse_config(BASE, "s.yaml").settings.max_override == 24 * 3600
    store = {"source": ENABLED_STORE, "field": "enabled", "max_override": "2h"}
    two = config_text("http://127.0.0.1:8081", settings=store)
    assert parse_config(two, "s.yaml").settings.max_override == 7200
    bad = config_text("http://127.0.0.1:8081", settings={**store, "max_override": "soon"})
    (error,) = errors_of(bad)
    assert error.startswith("settings.max_override: expected ") and error.endswith(", got 'soon'")


@pytest.mark.parametrize(
    "nets",
    [
        ["0.0.0.0/1", "128.0.0.0/1"],  # two halves: every IPv4 address
        ["::ffff:0:0/96"],  # every IPv4 client, as a dual-stack listener sees it
        ["::/1", "8000::/1"],
        ["10.0.0.0/8", "0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/2"],
    ],
)
def test_staff_networks_that_together_are_every_address_are_refused(nets: list[str]) -> None:
    text = config_text("http://127.0.0.1:8081", portal={"allow_while_disabled": nets})
    (issue,) = errors_of(text)
    assert issue.startswith("customer_portal.allow_while_disabled: ")
    assert "together are every" in issue
