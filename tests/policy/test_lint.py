"""Route lint: the gate's own classification of the upstream's paths, and which ones it doubts."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from gateway.config import Config, config_from_text
from gateway.policy.lint import (
    ANY_HOST,
    Endpoint,
    Row,
    accepts,
    action_words,
    classify_endpoint,
    default_host,
    findings,
    other_method,
)
from gateway.settings import SOURCES
from tests.conftest import DEFAULT_ROUTES, StartGateway, StartUpstream, config_text

OFFICE_HOST: list[dict[str, Any]] = [
    {"name": "public", "paths": ["/public"], "upstream": "portal", "portal": "public"},
    {
        "name": "office",
        "paths": ["/office"],
        "hosts": ["office.example.com"],
        "upstream": "portal",
        "portal": "office",
    },
    {
        "name": "reads",
        "paths": ["/catalog"],
        "methods": ["GET", "HEAD"],
        "upstream": "portal",
        "portal": "public",
    },
    {"name": "customer", "paths": ["/"], "upstream": "portal", "portal": "customer"},
]


def config_of(routes: list[dict[str, Any]] = DEFAULT_ROUTES, **extra: Any) -> Config:
    return config_from_text(config_text("http://127.0.0.1:8081", extra, routes), "t.yaml", SOURCES)


def rows_of(config: Config, line: str, host: str = ANY_HOST) -> list[tuple[str, str, str]]:
    method, _, target = line.rpartition(" ")
    endpoint = Endpoint(method or None, target, "paths.txt:1")
    return [
        (r.method, r.route.name if r.route else "-", r.refusal or "")
        for r in classify_endpoint(endpoint, config, host)
    ]


@pytest.mark.parametrize(
    ("target", "actions"),
    [
        ("/public/pay", ("pay",)),
        ("/api/v1/payments/42", ("pay",)),
        ("/log-in", ("login",)),  # two words run together
        ("/sign_in", ("login",)),
        ("/myAccount/Transfers", ("account", "transfer")),  # camelCase humps
        ("/courses/1/drop", ("drop",)),
        ("/enrolment", ("enroll",)),
        ("/check-out", ("checkout",)),
        ("/sessions?next=/cart", ("session",)),  # the query is not the path
        ("/p%61y", ("pay",)),  # escapes are read as the upstream reads them
        ("https://shop.example.com/cart", ("cart",)),  # the host is not the path
        # Not a part of a longer word.
        ("/display", ()),
        ("/dropdown", ()),
        ("/carton", ()),
        ("/paypal", ()),
        ("/accountant/login-page", ("login",)),
        ("/static/app.js", ()),
    ],
)
def test_customer_action_words_are_whole_words(target: str, actions: tuple[str, ...]) -> None:
    assert action_words(target) == actions


def test_each_endpoint_is_classified_by_the_gates_own_classification() -> None:
    config = config_of()
    assert rows_of(config, "POST /public/pay") == [("POST", "public", "")]
    assert rows_of(config, "/publicity") == [("*", "customer", "")]  # segments, not strings
    assert rows_of(config, "GET /OFFICE/%73ettings") == [("GET", "office", "")]
    # What the gateway answers itself: route `-`, and why.
    assert rows_of(config, "/_gateway/state") == [("*", "-", "404: reserved path")]
    assert rows_of(config, "TRACE /x") == [("TRACE", "-", "405: TRACE is not served")]
    assert rows_of(config, "/a/../office") == [("*", "-", "400: dot segment in path")]


def test_any_method_is_one_row_unless_a_route_names_methods_that_route_otherwise() -> None:
    config = config_of(OFFICE_HOST)
    assert rows_of(config, "/catalog/cart") == [
        ("*", "customer", ""),
        ("GET", "reads", ""),
        ("HEAD", "reads", ""),
    ]
    assert rows_of(config, "/public/x") == [("*", "public", "")]  # GET and HEAD alike
    assert other_method(config.routes) == "POST"


def test_a_host_from_the_file_or_the_option_is_the_host_routed_on() -> None:
    config = config_of(OFFICE_HOST)
    assert rows_of(config, "/office/x") == [("*", "customer", "")]  # any other host
    assert rows_of(config, "/office/x", "Office.Example.com:443") == [("*", "office", "")]
    assert rows_of(config, "https://office.example.com/office/x") == [("*", "office", "")]


def test_without_a_host_the_first_literal_server_name_is_used() -> None:
    assert default_host(config_of()) == ANY_HOST
    config = config_of(server_names=["*.example.com", "portal.example.com"])
    assert default_host(config) == "portal.example.com"
    assert rows_of(config, "/x", default_host(config)) == [("*", "customer", "")]
    refused = rows_of(config, "https://elsewhere.test/x")
    assert refused == [("*", "-", "421: host 'elsewhere.test' is not served here")]


def warned(config: Config, *lines: str) -> list[str]:
    rows: list[Row] = []
    for line in lines:
        method, _, target = line.rpartition(" ")
        rows += classify_endpoint(Endpoint(method or None, target, "f:1"), config, ANY_HOST)
    return [f.message for f in findings(rows)]


def test_a_customer_action_on_a_public_route_warns() -> None:
    assert warned(config_of(), "POST /public/pay") == [
        "POST /public/pay: 'pay' suggests a customer action, but route 'public' (portal: "
        "public) always passes, even while the Customer Portal is disabled"
    ]


def test_a_customer_action_on_an_office_route_warns_only_without_hosts() -> None:
    assert warned(config_of(), "/office/accounts/1") == [
        "* /office/accounts/1: 'account' suggests a customer action, but route 'office' "
        "(portal: office) passes untouched on every host, customers' included, even while "
        "the Customer Portal is disabled (an office route with no hosts:)"
    ]
    hosted = config_of(OFFICE_HOST)
    assert warned(hosted, "https://office.example.com/office/accounts/1") == []


def test_quiet_for_customer_routes_refusals_and_paths_without_actions() -> None:
    config = config_of(OFFICE_HOST)
    assert warned(config, "POST /enroll", "/_gateway/login", "/public/display", "/catalog") == []
    # Only the methods that fall to the public route warn.
    assert [m.split(" ", 1)[0] for m in warned(config, "/catalog/cart")] == ["GET", "HEAD"]


def row(line: str) -> Row:
    method, _, target = line.rpartition(" ")
    return Row(Endpoint(method or None, target, "a:1"), method or "*", None)


@pytest.mark.parametrize(
    ("accepted", "line", "covers"),
    [
        ("/public/pay", "POST /public/pay", True),  # no method: every method
        ("POST /public/pay", "POST /public/pay", True),
        ("GET /public/pay", "POST /public/pay", False),
        ("POST /public/pay", "/public/pay", False),  # `*` is every other method
        ("/Public/Pay/", "POST /public/pay", True),  # case and a final `/`
        ("/public/p%61y", "POST /public/pay", True),
        ("/public/pay", "POST /public/pay/now", False),  # a path, not a prefix
        ("/public/pay", "POST https://shop.example.com/public/pay", True),  # any host
        ("https://a.example.com/public/pay", "POST https://A.example.com/public/pay", True),
        ("https://a.example.com/public/pay", "POST https://b.example.com/public/pay", False),
        ("https://a.example.com/public/pay", "POST /public/pay", False),
    ],
)
def test_an_accepted_line_covers_its_method_and_path(
    accepted: str, line: str, covers: bool
) -> None:
    method, _, target = accepted.rpartition(" ")
    assert accepts(Endpoint(method or None, target, "i:1"), row(line)) is covers


async def test_the_lint_and_the_running_proxy_route_every_path_alike(
    upstream: StartUpstream, gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "gateway.access")
    up = await upstream()
    gw = await gateway(up.url, routes=OFFICE_HOST)
    probes = [
        ("POST", "/public/pay", ANY_HOST),
        ("GET", "/catalog/cart", ANY_HOST),
        ("POST", "/catalog/cart", ANY_HOST),
        ("GET", "/office/accounts", ANY_HOST),
        ("GET", "/office/accounts", "office.example.com"),
        ("GET", "/Office/%61ccounts", "OFFICE.example.com."),
        ("GET", "/publicity", ANY_HOST),
    ]
    for method, target, host in probes:
        async with gw.client.request(method, target, headers={"Host": host}) as resp:
            assert resp.status == 200, (method, target)
    proxied = [line["route"] for line in gw.access_json()]
    linted = [classify_endpoint(Endpoint(m, t, "p:1"), gw.config, h)[0].route for m, t, h in probes]
    assert proxied == [r.name if r else "-" for r in linted]
    assert proxied == ["public", "reads", "customer", "customer", "office", "office", "customer"]
