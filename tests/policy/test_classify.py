"""classify(facts, config): the route for a request, or the refusal the gateway answers itself."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gateway.config import Config, parse_config
from gateway.policy.classify import Refused, classify, is_reserved, reserved_segments
from gateway.policy.facts import RequestFacts
from gateway.wire.paths import canonicalize
from tests.conftest import config_text

CONFIG = parse_config(config_text("http://127.0.0.1:8081"), "t.yaml")
NAMED = parse_config(
    config_text("http://127.0.0.1:8081", {"server_names": ["portal.example.com", "*.example.org"]}),
    "t.yaml",
)


def facts(
    target: str = "/enroll",
    *,
    method: str = "GET",
    hosts: tuple[str, ...] = ("portal.example.com",),
    version: tuple[int, int] | None = (1, 1),
    codings: tuple[str, ...] = (),
) -> RequestFacts:
    return RequestFacts(
        method=method,
        target=target,
        host_lines=hosts,
        cookie_lines=(),
        accept="",
        client_ip="203.0.113.7",
        secure=False,
        started_at=0.0,
        http_version=version,
        transfer_codings=codings,
    )


@pytest.mark.parametrize(
    ("request_facts", "status", "reason"),
    [
        (facts(method="CONNECT"), 405, "CONNECT is not served"),
        (facts(method="TRACE"), 405, "TRACE is not served"),
        (facts(version=(2, 0)), 505, "HTTP/2.0 is not served"),
        (facts(version=(0, 9)), 505, "HTTP/0.9 is not served"),
        (facts(codings=("gzip",)), 400, "unsupported Transfer-Encoding"),
        (facts(codings=("gzip", "chunked")), 501, "unsupported Transfer-Encoding"),
        (facts(codings=("chunked", "chunked")), 501, "unsupported Transfer-Encoding"),
        (facts(codings=("chunked",), version=(1, 0)), 400, "chunked framing on HTTP/1.0"),
        (facts("/_gateway/metrics"), 404, "reserved path"),
        (facts("/_GATEWAY/%6detrics"), 404, "reserved path"),  # any spelling of it
        (facts(hosts=("a.example", "b.example")), 400, "more than one Host header"),
        (
            facts("http://office.example.com/office", hosts=("portal.example.com",)),
            400,
            "absolute-form authority and Host disagree",
        ),
        (facts(hosts=()), 400, "missing Host header"),
        (facts(hosts=("bad host",)), 400, "invalid Host header"),
    ],
)
def test_refusals(request_facts: RequestFacts, status: int, reason: str) -> None:
    with pytest.raises(Refused) as info:
        classify(request_facts, CONFIG)
    assert (info.value.status, info.value.reason) == (status, reason)


def test_a_route_is_found_on_the_canonical_target_and_host() -> None:
    found = classify(facts("/Office/x?y=1", hosts=("Portal.Example.com.:80",)), CONFIG)
    # Routing compares canonical segments: /Office is the office route's /office.
    assert (found.route.name, found.host, found.host_header) == (
        "office",
        "portal.example.com",
        "Portal.Example.com.:80",
    )
    assert classify(facts("/office/x"), CONFIG).route.name == "office"
    assert classify(facts("/publicity"), CONFIG).route.name == "customer"


def test_the_absolute_form_authority_is_what_is_sent_upstream() -> None:
    found = classify(
        facts("http://Portal.example.com/public/a", hosts=("portal.example.com",)), CONFIG
    )
    assert (found.route.name, found.host_header, found.target.path) == (
        "public",
        "Portal.example.com",
        "/public/a",
    )
    alone = classify(facts("http://portal.example.com/", hosts=()), CONFIG)
    assert alone.host == "portal.example.com"


def test_http10_without_host_routes_with_an_empty_host() -> None:
    found = classify(facts(hosts=(), version=(1, 0)), CONFIG)
    assert (found.host, found.host_header, found.route.name) == ("", "", "customer")


def test_forward_auth_facts_skip_the_framing_checks() -> None:
    # A proxy in front has already dealt with framing and never says what it was.
    found = classify(facts(version=None, codings=()), CONFIG)
    assert found.route.name == "customer"
    with pytest.raises(Refused, match="missing Host header"):
        classify(facts(version=None, hosts=()), CONFIG)


def test_server_names_refuse_other_hosts_with_421() -> None:
    assert classify(facts(hosts=("portal.example.com",)), NAMED).route.name == "customer"
    assert classify(facts(hosts=("a.example.org",)), NAMED).host == "a.example.org"
    with pytest.raises(Refused) as info:
        classify(facts(hosts=("other.example.net",)), NAMED)
    assert (info.value.status, info.value.reason) == (
        421,
        "host 'other.example.net' is not served here",
    )


def test_no_matching_route_is_404() -> None:
    office_only = replace(CONFIG, routes=tuple(r for r in CONFIG.routes if r.name == "office"))
    with pytest.raises(Refused) as info:
        classify(facts("/enroll"), office_only)
    assert (info.value.status, info.value.reason) == (404, "no route matches")


def test_the_reserved_prefix_is_recognised_by_segments() -> None:
    config: Config = replace(CONFIG, admin_prefix="/_Ops/gate")
    assert reserved_segments(config) == ("_ops", "gate")
    assert is_reserved(canonicalize("/_ops/GATE/x"), config)
    assert not is_reserved(canonicalize("/_ops/gatekeeper"), config)
    assert not is_reserved(canonicalize("/_ops"), config)
