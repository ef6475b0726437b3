"""The decision said the way each proxy in front can act on it (pure: no servers needed)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.admin import forward_answer
from gateway.config import Proxy


def test_nginx_set_cookie_slots_keep_the_stamp_first_and_count_what_does_not_fit() -> None:
    lines = [f"c{i}=; Max-Age=0" for i in range(9)] + ["portal_gateway_stamp=v; Path=/"]
    answer = forward_answer.allow("nginx", "a=1", lines, "portal_gateway_stamp", "customer")
    slots = [v for k, v in answer.headers if k.startswith("X-Portal-Gateway-Set-Cookie-")]
    assert slots == ["portal_gateway_stamp=v; Path=/", *lines[:7]]
    assert answer.dropped_set_cookies == 2
    assert ("X-Portal-Gateway-Cookie", "a=1") in answer.headers
    # Also as plain lines, which nginx ignores and every other reader of the answer can use.
    assert [v for k, v in answer.headers if k == "Set-Cookie"] == lines


@pytest.mark.parametrize(
    ("proxy", "status", "cookie_header"),
    [
        ("nginx", 204, ()),
        ("caddy", 204, ()),
        ("traefik", 204, ()),
        ("envoy", 200, (("x-envoy-auth-headers-to-remove", "cookie"),)),
    ],
)
def test_an_allow_without_cookies_tells_each_proxy_to_send_none(
    proxy: Proxy, status: int, cookie_header: tuple[tuple[str, str], ...]
) -> None:
    answer = forward_answer.allow(proxy, "", (), "portal_gateway_stamp", "office")
    assert answer.status == status
    assert answer.headers == (
        ("Cache-Control", "no-store"),
        ("X-Portal-Gateway-Route", "office"),
        *cookie_header,
    )


def test_the_page_rides_on_one_line_for_nginx_only() -> None:
    page = b"<p>a\r\nb\tc\x00d</p>\n"
    nginx = forward_answer.deny("nginx", 503, [("Content-Type", "text/html")], page, "s", 403)
    # No body for nginx, which reads the header and keeps its connection only without one.
    assert nginx.status == 403 and nginx.body == b""
    assert dict(nginx.headers)["X-Portal-Gateway-Body"] == "<p>a  b cd</p> "
    assert dict(nginx.headers)["X-Portal-Gateway-Status"] == "503"
    for proxy in ("caddy", "traefik", "envoy"):
        other = forward_answer.deny(proxy, 503, [("Content-Type", "text/html")], page, "s")
        assert (other.status, other.headers, other.body) == (
            503,
            (("Content-Type", "text/html"),),
            page,
        )


@pytest.mark.parametrize(
    ("proxy", "cookie_header"),
    [
        ("nginx", ("X-Portal-Gateway-Cookie", "a=1")),
        ("caddy", ("X-Portal-Gateway-Cookie", "a=1")),
        ("traefik", ("Cookie", "a=1")),  # authResponseHeaders: [Cookie]
        ("envoy", ("Cookie", "a=1")),  # allowed_upstream_headers
    ],
)
def test_an_allow_sends_the_chosen_cookie_line_where_each_proxy_reads_it(
    proxy: Proxy, cookie_header: tuple[str, str]
) -> None:
    answer = forward_answer.allow(proxy, "a=1", ["s=1; Path=/"], "portal_gateway_stamp", "c")
    assert cookie_header in answer.headers
    assert ("Set-Cookie", "s=1; Path=/") in answer.headers
    nginx_only = [k for k, _ in answer.headers if k.startswith("X-Portal-Gateway-Set-Cookie-")]
    assert nginx_only == (["X-Portal-Gateway-Set-Cookie-1"] if proxy == "nginx" else [])


def test_an_nginx_deny_keeps_its_status_type_and_cookies_in_headers_of_their_own() -> None:
    headers = [("Set-Cookie", "portal_session=; Max-Age=0"), ("Retry-After", "120")]
    answer = forward_answer.deny("nginx", 421, headers, b"", "portal_gateway_stamp")
    assert answer.status == 421  # no deny_status asked: the gateway's own
    assert answer.headers == (
        *headers,
        ("X-Portal-Gateway-Set-Cookie-1", "portal_session=; Max-Age=0"),
        ("X-Portal-Gateway-Status", "421"),
        ("X-Portal-Gateway-Content-Type", "text/plain"),
        ("X-Portal-Gateway-Body", ""),
    )
    assert forward_answer.deny("traefik", 503, headers, b"x", "s", 403).status == 403


def _one_line_per_character(body: bytes) -> str:
    # The page's one-line form as first written: a character at a time.
    text = body.decode("utf-8", errors="replace")
    return "".join(" " if ch in "\r\n\t" else ch for ch in text if ch >= " " or ch in "\r\n\t")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64) | st.text(max_size=64).map(str.encode))
def test_the_one_line_page_is_the_per_character_form(body: bytes) -> None:
    line = forward_answer._one_line(body)
    assert line == _one_line_per_character(body)
    assert forward_answer._one_line(body) is line  # computed once per page


def test_each_page_keeps_its_own_one_line_form() -> None:
    # Cached per page: staff's new message (or another language) is a new page, a new line.
    for message in ("Back at 9\n", "Back at 10\r\n", "Back at 9\n"):
        page = f"<p>{message}</p>".encode()
        answer = forward_answer.deny("nginx", 503, [("Content-Type", "text/html")], page, "s", 403)
        assert dict(answer.headers)["X-Portal-Gateway-Body"] == "<p>{}</p>".format(
            message.replace("\r", " ").replace("\n", " ")
        )
