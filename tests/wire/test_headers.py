"""headers.py as pure functions: the table of what passes and what the gateway generates."""

from __future__ import annotations

import ipaddress
import os
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.wire import cookies, hosts
from gateway.wire.headers import (
    ForwardContext,
    client_ip,
    lines_of,
    new_request_id,
    request_headers,
    request_id,
    response_headers,
    values,
    via_has_loop,
    via_lines_have_loop,
)

TRUSTED = (ipaddress.ip_network("10.0.0.0/8"),)


def ctx(*, trusted: bool = False, peer: str = "203.0.113.9") -> ForwardContext:
    return ForwardContext(
        peer=peer,
        trusted_peer=trusted,
        scheme="http",
        host="portal.example",
        http_version="1.1",
        via="portal-gateway",
        request_id="rid1",
    )


def test_connection_listed_and_hop_by_hop_headers_are_removed() -> None:
    out = request_headers(
        [
            ("Connection", ""),
            ("Connection", "X-Foo, keep-alive"),
            ("X-Foo", "1"),
            ("Keep-Alive", "timeout=5"),
            ("TE", "gzip"),
            ("Upgrade", "h2c"),
            ("Proxy-Authorization", "Basic x"),
            ("Expect", "100-continue"),
            ("X_Forwarded_For", "6.6.6.6"),
            ("Accept", "text/html"),
        ],
        ctx(),
    )
    names = [k for k, _ in out]
    assert names == [
        "Accept",
        "Host",
        "X-Forwarded-For",
        "X-Forwarded-Proto",
        "X-Forwarded-Host",
        "X-Request-ID",
        "Via",
    ]


def test_untrusted_forwarding_headers_are_replaced() -> None:
    out = dict(
        request_headers(
            [
                ("X-Forwarded-For", "6.6.6.6"),
                ("X-Forwarded-Host", "office.example"),
                ("X-Forwarded-Proto", "https"),
                ("X-Original-URL", "/office"),
                ("X-HTTP-Method-Override", "DELETE"),
                ("Forwarded", "for=1.2.3.4"),
            ],
            ctx(),
        )
    )
    assert out["X-Forwarded-For"] == "203.0.113.9"
    assert out["X-Forwarded-Host"] == "portal.example"
    assert out["X-Forwarded-Proto"] == "http"
    assert (
        "X-Original-URL" not in out
        and "X-HTTP-Method-Override" not in out
        and "Forwarded" not in out
    )


def test_trusted_chain_is_merged_in_order() -> None:
    out = dict(
        request_headers(
            [
                ("X-Forwarded-For", "198.51.100.1"),
                ("X-Forwarded-For", "10.0.0.2"),
                ("X-Forwarded-Proto", "https"),
            ],
            ctx(trusted=True, peer="10.0.0.3"),
        )
    )
    assert out["X-Forwarded-For"] == "198.51.100.1, 10.0.0.2, 10.0.0.3"
    assert out["X-Forwarded-Proto"] == "https"
    assert client_ip("10.0.0.3", ["198.51.100.1", "10.0.0.2"], TRUSTED) == "198.51.100.1"
    assert client_ip("203.0.113.9", ["1.1.1.1"], TRUSTED) == "203.0.113.9"


def test_via_is_appended_and_loops_detected() -> None:
    out = request_headers([("Via", "1.0 edge")], ctx())
    assert [v for k, v in out if k == "Via"] == ["1.0 edge", "1.1 portal-gateway"]
    assert via_has_loop([("Via", "1.0 edge, 1.1 portal-gateway")], "portal-gateway")
    assert not via_has_loop([("Via", "1.1 portal-gateway-2")], "portal-gateway")


def test_response_hop_by_hop_removed_duplicates_kept_in_order() -> None:
    out = response_headers(
        [
            ("Set-Cookie", "a=1"),
            ("Connection", "X-Secret"),
            ("X-Secret", "s"),
            ("Keep-Alive", "timeout=5"),
            ("Transfer-Encoding", "chunked"),
            ("Proxy-Authenticate", "Basic"),
            ("Vary", "Accept"),
            ("Set-Cookie", "b=2"),
            ("Vary", "Cookie"),
        ]
    )
    assert out == [
        ("Set-Cookie", "a=1"),
        ("Vary", "Accept"),
        ("Set-Cookie", "b=2"),
        ("Vary", "Cookie"),
    ]


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("Portal.Example.com", "portal.example.com"),
        ("portal.example.com.:8080", "portal.example.com"),
        ("[::1]:8080", "[::1]"),
        ("127.0.0.1", "127.0.0.1"),
        ("", None),
        ("a.com, b.com", None),
        ("user@a.com", None),
        ("a.com:99999", None),
        ("a b.com", None),
    ],
)
def test_canonical_host(value: str, canonical: str | None) -> None:
    assert hosts.canonical_host(value) == canonical


def test_wildcard_hosts_match_subdomains_only() -> None:
    assert hosts.matches("*.example.com", "office.example.com")
    assert hosts.matches("*.example.com", "a.b.example.com")
    assert not hosts.matches("*.example.com", "example.com")
    assert not hosts.matches("*.example.com", "evilexample.com")


@pytest.mark.parametrize(
    ("lines", "pairs"),
    [
        (["a=1; b=2"], [("a", "1"), ("b", "2")]),
        (["a=1", "b=2"], [("a", "1"), ("b", "2")]),
        (['  a = "q v" ;;b='], [("a", "q v"), ("b", "")]),
        (["flag; a=1"], [("", "flag"), ("a", "1")]),
    ],
)
def test_cookie_parsing_follows_browsers(lines: list[str], pairs: list[tuple[str, str]]) -> None:
    assert cookies.parse(lines) == pairs


def test_session_cookie_patterns() -> None:
    match = cookies.SessionCookieMatcher(["portal_session", "remember_*"])
    assert match("portal_session") and match("remember_web_1") and match("Portal_Session")
    assert not match("theme") and not match("portal_session2")
    assert cookies.without(["a=1; portal_session=x", "b=2"], ["portal_session"]) == "a=1; b=2"
    assert cookies.without(["portal_session=x"], ["portal_session"]) is None


def test_request_ids_are_32_hex_digits_and_never_repeat_within_a_process() -> None:
    ids = [new_request_id() for _ in range(100_000)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in ids[:100] + ids[-100:])
    assert request_id([("X-Request-ID", "abc")], trusted_peer=False) != "abc"
    assert request_id([("X-Request-ID", "abc")], trusted_peer=True) == "abc"


def test_a_forked_worker_draws_its_own_request_id_prefix() -> None:
    # Workers fork from one parent: a prefix inherited unchanged would repeat the parent's ids.
    parent = new_request_id()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write_end, new_request_id().encode())
        os._exit(0)
    os.close(write_end)
    child = os.read(read_end, 64).decode()
    os.close(read_end)
    os.waitpid(pid, 0)
    assert len(child) == 32 and child[:20] != parent[:20]
    assert new_request_id()[:20] == parent[:20]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                ["Host", "host", "HOST", "Cookie", "cOOkie", "Via", "X-A", "Transfer-Encoding"]
            ),
            st.text(alphabet="ab, =;", max_size=6),
        ),
        max_size=8,
    )
)
def test_lines_of_equals_values_for_each_name(headers: list[tuple[str, str]]) -> None:
    # One pass for several names: the same lines, in the same order, as one `values` each.
    names = ("host", "cookie", "transfer-encoding", "via")
    found = lines_of(headers, *names)
    assert found == {name: values(headers, name) for name in names}
    assert via_lines_have_loop(found["via"], "a") is via_has_loop(headers, "a")
