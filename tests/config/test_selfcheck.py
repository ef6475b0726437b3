"""`customer_portal.mode` and `customer_portal.self_check`: parsed, warned about, checked
against the routes, with located errors."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.config import Config, ConfigError, parse_config
from gateway.config.schema import SelfCheckConfig, SelfCheckTarget
from gateway.config.selfcheck import SHADOW_WARNING, probe_host
from tests.conftest import config_data, config_yaml

OFFICE_HOST_ROUTES: list[dict[str, Any]] = [
    {
        "name": "office",
        "paths": ["/"],
        "hosts": ["office.example.com"],
        "upstream": "portal",
        "portal": "office",
    },
    {"name": "customer", "paths": ["/"], "upstream": "portal", "portal": "customer"},
]


def load(portal: dict[str, Any], **overrides: Any) -> Config:
    text = config_yaml(config_data("http://127.0.0.1:8081", portal=portal, **overrides))
    return parse_config(text, "c.yaml")


def errors_of(portal: dict[str, Any], **overrides: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(portal, **overrides)
    return [str(issue) for issue in info.value.issues]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_mode_defaults_to_enforce_without_a_warning() -> None:
    config = load({})
    assert config.customer_portal.mode == "enforce"
    assert config.customer_portal.self_check is None
    assert not [w for w in config.warnings if w.key == "customer_portal.mode"]


def test_shadow_mode_is_a_located_warning() -> None:
    text = config_yaml(config_data("http://127.0.0.1:8081", portal={"mode": "shadow"}))
    config = parse_config(text, "c.yaml")
    assert config.customer_portal.mode == "shadow"
    line = line_of(text, "mode: shadow")
    assert [str(w) for w in config.warnings if w.key == "customer_portal.mode"] == [
        f"c.yaml:{line}: customer_portal.mode: warning: {SHADOW_WARNING}"
    ]


def test_an_unknown_mode_is_an_error() -> None:
    text = config_yaml(config_data("http://127.0.0.1:8081", portal={"mode": "audit"}))
    line = line_of(text, "mode: audit")
    assert errors_of({"mode": "audit"}) == [
        f"c.yaml:{line}: customer_portal.mode: expected enforce | shadow, got 'audit'"
    ]


def test_paths_and_urls_resolve_to_a_target_and_a_host() -> None:
    config = load(
        {"self_check": {"customer": "/enroll?x=1", "office": "http://office.example.com/"}},
        routes=OFFICE_HOST_ROUTES,
    )
    assert config.customer_portal.self_check == SelfCheckConfig(
        customer=SelfCheckTarget("/enroll?x=1", "localhost"),
        office=SelfCheckTarget("/", "office.example.com"),
    )


def test_a_path_is_sent_with_the_first_plain_server_name() -> None:
    assert probe_host(["*.example.com", "portal.example.com"]) == "portal.example.com"
    assert probe_host(["*.example.com"]) == "localhost"
    config = load(
        {"self_check": {"customer": "/", "office": "/office"}},
        server_names=["portal.example.com"],
    )
    assert config.customer_portal.self_check is not None
    assert config.customer_portal.self_check.customer.host == "portal.example.com"


def test_a_target_that_reaches_the_wrong_portal_is_refused_with_its_line() -> None:
    portal = {"self_check": {"customer": "/office/settings", "office": "/enroll"}}
    text = config_yaml(config_data("http://127.0.0.1:8081", portal=portal))
    customer, office = line_of(text, "customer: /office"), line_of(text, "office: /enroll")
    assert errors_of(portal) == [
        f"c.yaml:{customer}: customer_portal.self_check.customer: '/office/settings' goes to "
        "route 'office' (portal: office), not to a customer route",
        f"c.yaml:{office}: customer_portal.self_check.office: '/enroll' goes to route "
        "'customer' (portal: customer), not to an office route",
    ]


def test_the_host_of_a_url_decides_its_route() -> None:
    # Without the office host, / is the customer portal's: that probe would prove nothing.
    errors = errors_of(
        {"self_check": {"customer": "/", "office": "http://portal.example.com/"}},
        routes=OFFICE_HOST_ROUTES,
    )
    assert len(errors) == 1
    assert errors[0].endswith(
        "customer_portal.self_check.office: 'http://portal.example.com/' goes to route "
        "'customer' (portal: customer), not to an office route"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("enroll", "expected a path or an http(s) URL: request target must be origin-form"),
        ("/a/../b", "expected a path or an http(s) URL: dot segment in path"),
        ("/_gateway/healthz", "'/_gateway/healthz' is under the reserved prefix /_gateway"),
        (7, "expected a path (/enroll) or a URL (https://host/enroll), got 7"),
    ],
)
def test_bad_targets(value: object, message: str) -> None:
    (error,) = errors_of({"self_check": {"customer": value, "office": "/office"}})
    assert "customer_portal.self_check.customer: " + message in error


def test_a_host_outside_server_names_is_refused() -> None:
    (error,) = errors_of(
        {"self_check": {"customer": "http://evil.example.net/", "office": "/office"}},
        server_names=["portal.example.com"],
    )
    assert error.endswith("host 'evil.example.net' is not in server_names")


def test_both_targets_are_required_and_nothing_else_is_accepted() -> None:
    errors = errors_of({"self_check": {"customers": "/"}})
    assert sorted(e.split(": ", 1)[1] for e in errors) == [
        "customer_portal.self_check.customer: required (a path (/enroll) or a URL "
        "(https://host/enroll))",
        "customer_portal.self_check.customers: unknown key (did you mean 'customer'?)",
        "customer_portal.self_check.office: required (a path (/enroll) or a URL "
        "(https://host/enroll))",
    ]
    (error,) = errors_of({"self_check": "/enroll"})
    assert error.endswith("customer_portal.self_check: expected a mapping, got '/enroll'")
