"""`routes:`: each route's keys, its canonical forms, and what two routes may not share."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, Route, parse_config
from tests.conftest import config_text

OFFICE: dict[str, object] = {
    "name": "office",
    "paths": ["/Office/", "/api/office"],
    "hosts": ["Office.Example.COM.", "*.example.com"],
    "methods": ["GET", "HEAD"],
    "upstream": "portal",
    "portal": "office",
}
CUSTOMER: dict[str, object] = {"paths": ["/"], "upstream": "portal", "portal": "customer"}
ROUTES = [OFFICE, CUSTOMER]


def routes_of(routes: str | list[dict[str, object]], extra: str = "") -> tuple[Route, ...]:
    return parse_config(config_text("http://127.0.0.1:8081", extra, routes), "r.yaml").routes


def errors_of(routes: str | list[dict[str, object]], extra: str = "") -> list[str]:
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
    twice = [OFFICE, {"name": "office", **CUSTOMER}]
    assert errors_of(twice) == ["routes[1].name: duplicate route name 'office'"]


def test_the_reserved_prefix_follows_admin_prefix() -> None:
    routes = [{**OFFICE, "paths": ["/Office/", "/ops/x"]}, CUSTOMER]
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


def warnings_of(routes: str) -> list[str]:
    config = parse_config(config_text("http://127.0.0.1:8081", "", routes), "r.yaml")
    return [f"{w.line}: {w.key}: {w.message}" for w in config.warnings if w.key != "settings"]


def route(name: str, portal: str, hosts: list[str] | None = None, paths: str = "/") -> str:
    lines = f"  - name: {name}\n    paths: [{paths}]\n"
    if hosts is not None:
        lines += f"    hosts: [{', '.join(repr(h) for h in hosts)}]\n"
    return lines + f"    upstream: portal\n    portal: {portal}\n"


def shared(office: str, paths: str, listed: str) -> str:
    return (
        f"warning: office route {office!r} shares a host with customer {listed}: on a shared "
        "host customers' browsers send their session cookies to the office paths "
        f"({paths}) too, and office routes pass untouched even while the Customer Portal is "
        "disabled; serve the Office Portal on a host of its own if the portal can (hosts: on "
        "the office and customer routes)"
    )


def test_an_office_route_on_a_customer_host_warns_at_its_hosts_line() -> None:
    text = "routes:\n" + route("public", "public", paths="/public")
    text += route("office", "office", ["office.example.com", "*.example.org"], "/office")
    text += route("customer", "customer", ["*.example.com"])
    text += route("c2", "customer", ["a.b.example.org"], "/x")
    dumped = config_text("http://127.0.0.1:8081", "", text).splitlines()
    start = dumped.index("- name: office")
    hosts_line = dumped.index("  hosts:", start) + 1
    assert warnings_of(text) == [
        f"{hosts_line}: routes[1].hosts: "
        + shared(
            "office", "/office", "routes 'customer' (office.example.com), 'c2' (a.b.example.org)"
        )
    ]


def test_an_office_route_without_hosts_warns_at_the_route() -> None:
    text = "routes:\n" + route("staff", "office", paths="/office, /api/office")
    text += route("customer", "customer", ["portal.example.com"])
    dumped = config_text("http://127.0.0.1:8081", "", text).splitlines()
    line = dumped.index("- name: staff") + 1
    assert warnings_of(text) == [
        f"{line}: routes[0].hosts: "
        + shared("staff", "/office, /api/office", "route 'customer' (portal.example.com)")
    ]


@pytest.mark.parametrize(
    ("office", "customers"),
    [
        (["office.example.com"], [["portal.example.com"]]),
        (["office.example.com"], [["*.portal.example.com"], ["portal.example.com"]]),
        (["example.com"], [["*.example.com"]]),  # a wildcard never matches its own domain
        (["*.staff.example.com"], [["*.portal.example.com"]]),
    ],
)
def test_office_routes_on_hosts_of_their_own_are_quiet(
    office: list[str], customers: list[list[str]]
) -> None:
    text = "routes:\n" + route("office", "office", office, "/office")
    for i, hosts in enumerate(customers):
        text += route(f"customer{i}", "customer", hosts, f"/c{i}")
    assert warnings_of(text) == []


def test_public_routes_and_a_config_without_customer_routes_are_quiet() -> None:
    text = "routes:\n" + route("public", "public") + route("office", "office", paths="/office")
    assert warnings_of(text) == []


def test_a_route_may_set_its_own_body_limit_in_the_global_ones_units() -> None:
    office, customer = routes_of([{**OFFICE, "client_max_size": "50m"}, CUSTOMER])
    assert office.client_max_size == 50 * 1024 * 1024
    assert customer.client_max_size is None  # proxy.client_max_size applies
    [exact] = routes_of([{**CUSTOMER, "client_max_size": 2048}])
    assert exact.client_max_size == 2048


@pytest.mark.parametrize("value", ["lots", -1, True, "10 MiBs"])
def test_a_bad_route_body_limit_is_a_located_error(value: object) -> None:
    text = config_text("http://127.0.0.1:8081", "", [{**CUSTOMER, "client_max_size": value}])
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "client_max_size" in ln)
    with pytest.raises(ConfigError) as info:
        parse_config(text, "r.yaml")
    assert [str(i) for i in info.value.issues] == [
        f"r.yaml:{line}: routes[0].client_max_size: expected a size in bytes "
        f'(1048576, "512k", "10m"), got {value!r}'
    ]
