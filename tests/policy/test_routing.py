"""routing.match: first match wins on segments, hosts and methods; describe() for `check`."""

from __future__ import annotations

from gateway.config import parse_config
from gateway.policy.routing import describe, match
from tests.conftest import config_text

ROUTES = parse_config(
    config_text(
        "http://127.0.0.1:8081",
        routes=[
            {
                "name": "office-host",
                "paths": ["/"],
                "hosts": ["office.example.com", "*.staff.example"],
                "upstream": "portal",
                "portal": "office",
            },
            {
                "name": "payments",
                "paths": ["/pay"],
                "methods": ["POST", "GET"],
                "upstream": "portal",
                "portal": "customer",
            },
            {
                "name": "public",
                "paths": ["/public", "/assets"],
                "upstream": "portal",
                "portal": "public",
            },
            {"name": "customer", "paths": ["/"], "upstream": "portal", "portal": "customer"},
        ],
    ),
    "t.yaml",
).routes


def name(segments: tuple[str, ...], host: str = "portal.example.com", method: str = "GET") -> str:
    route = match(ROUTES, segments, host, method)
    return route.name if route is not None else "none"


def test_paths_match_by_whole_segments_not_string_prefixes() -> None:
    assert name(("public",)) == "public"
    assert name(("public", "a")) == "public"
    assert name(("assets", "x.css")) == "public"
    assert name(("publicity",)) == "customer"


def test_hosts_and_methods_narrow_a_route_and_the_first_match_wins() -> None:
    assert name(("public",), host="office.example.com") == "office-host"  # first wins
    assert name(("x",), host="a.staff.example") == "office-host"
    assert name(("x",), host="staff.example") == "customer"
    assert name(("pay",), method="POST") == "payments"
    assert name(("pay",), method="DELETE") == "customer"


def test_nothing_matches_when_no_route_accepts() -> None:
    only_public = tuple(r for r in ROUTES if r.name == "public")
    assert match(only_public, ("enroll",), "h", "GET") is None


def test_describe_lists_the_resolved_table() -> None:
    assert describe(ROUTES) == [
        ("1", "office-host", "office", "/", "office.example.com, *.staff.example", "*"),
        ("2", "payments", "customer", "/pay", "*", "GET, POST"),
        ("3", "public", "public", "/public, /assets", "*", "*"),
        ("4", "customer", "customer", "/", "*", "*"),
    ]
