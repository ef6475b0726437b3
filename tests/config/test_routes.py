"""`routes:`: each route's keys, its canonical forms, and what two routes may not share."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, Route, parse_config
from tests.conftest import config_text

ROUTES = """\
routes:
  - name: office
    paths: [/Office/, /api/office]
    hosts: [Office.Example.COM., "*.example.com"]
    methods: [GET, HEAD]
    upstream: portal
    portal: office
  - paths: [/]
    upstream: portal
    portal: customer
"""


def routes_of(routes: str, extra: str = "") -> tuple[Route, ...]:
    return parse_config(config_text("http://127.0.0.1:8081", extra, routes), "r.yaml").routes


def errors_of(routes: str, extra: str = "") -> list[str]:
    with pytest.raises(ConfigError) as info:
        routes_of(routes, extra)
    return [f"{i.key}: {i.message}" for i in info.value.issues]


def test_a_route_is_read_into_its_canonical_forms() -> None:
    office, customer = routes_of(ROUTES)
    assert office == Route(
        name="office",
        paths=("/Office/", "/api/office"),
        upstream="portal",
        portal="office",
        hosts=("office.example.com", "*.example.com"),
        methods=frozenset({"GET", "HEAD"}),
        segments=(("office",), ("api", "office")),
    )
    assert (customer.name, customer.methods, customer.hosts) == ("route1", None, ())


def test_route_names_are_unique() -> None:
    twice = ROUTES.replace("  - paths: [/]", "  - name: office\n    paths: [/]")
    assert errors_of(twice) == ["routes[1].name: duplicate route name 'office'"]


def test_the_reserved_prefix_follows_admin_prefix() -> None:
    routes = ROUTES.replace("/api/office", "/ops/x")
    assert errors_of(routes, "admin_prefix: /ops\n") == [
        "routes[0].paths: '/ops/x' is reserved for the gateway (/ops)"
    ]


def test_a_route_that_is_not_a_mapping_or_lacks_its_keys() -> None:
    assert errors_of("routes:\n  - just-a-string\n") == [
        "routes[0]: expected a mapping, got 'just-a-string'"
    ]
    assert errors_of("routes:\n  - paths: [/]\n    portl: office\n") == [
        "routes[0].portal: required (customer | office | public)",
        "routes[0].upstream: required (an upstream name)",
        "routes[0].portl: unknown key (did you mean 'portal'?)",
    ]
    assert errors_of("routes: []\n") == ["routes: required: a non-empty list of routes"]
