"""The forward-auth reader: each proxy read from its own header family only (pure)."""

from __future__ import annotations

import ipaddress

import pytest

from gateway.config import Proxy
from gateway.policy.forward_auth import FAMILIES, ForwardAuthRefused, Forwarded, read_forwarded

TRUSTED = (ipaddress.ip_network("10.0.0.0/8"),)
PEER = "10.1.2.3"
# Every family at once: a proxy's own headers are read, the others are the client's.
ALL = [
    ("X-Original-Method", "DELETE"),
    ("X-Original-URI", "/office/nginx"),
    ("X-Real-IP", "198.51.100.1"),
    ("X-Forwarded-Method", "PUT"),
    ("X-Forwarded-Uri", "/office/traefik?q=1"),
    ("X-Forwarded-For", "6.6.6.6, 198.51.100.2"),
    ("X-Forwarded-Host", "Portal.Example:8443"),
    ("X-Forwarded-Proto", "HTTPS"),
    ("Host", "envoy.example"),
    ("Cookie", "a=1"),
    ("Cookie", "b=2"),
]


@pytest.mark.parametrize(
    ("proxy", "method", "target", "host", "client"),
    [
        # https://nginx.org/en/docs/http/ngx_http_auth_request_module.html (proxy_set_header)
        ("nginx", "DELETE", "/office/nginx", "Portal.Example:8443", "198.51.100.1"),
        # https://doc.traefik.io/traefik/middlewares/http/forwardauth/ (Forward-Request Headers)
        ("traefik", "PUT", "/office/traefik?q=1", "Portal.Example:8443", "198.51.100.2"),
        # https://caddyserver.com/docs/caddyfile/directives/forward_auth (header_up)
        ("caddy", "PUT", "/office/traefik?q=1", "Portal.Example:8443", "198.51.100.2"),
        # https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/http/ext_authz/v3/ext_authz.proto
        ("envoy", "PATCH", "/pay/x?y=%2F", "envoy.example", "198.51.100.2"),
    ],
)
def test_each_proxy_is_read_from_its_own_family_only(
    proxy: Proxy, method: str, target: str, host: str, client: str
) -> None:
    got = read_forwarded(
        proxy, ALL, "/_gateway/decision/pay/x?y=%2F", PEER, TRUSTED, method="PATCH"
    )
    assert got == Forwarded(proxy, method, target, host, client, "https", ("a=1", "b=2"))


@pytest.mark.parametrize(
    ("proxy", "headers", "peer", "status", "reason"),
    [
        (None, ALL, PEER, 403, "forward_auth.proxy is not set"),
        ("nginx", ALL, "192.0.2.9", 403, "from 192.0.2.9, not in proxy.trusted_proxies"),
        ("nginx", ALL, "", 403, "from an unknown peer"),
        ("nginx", [("X-Original-URI", "/")], PEER, 400, "without x-original-method"),
        ("nginx", [("X-Original-Method", "GET")], PEER, 400, "without x-original-uri"),
        ("traefik", [*ALL, ("x-forwarded-uri", "/")], PEER, 400, "2 x-forwarded-uri headers"),
        ("traefik", [*ALL, ("X-Forwarded-For", "1.2.3.4")], PEER, 400, "2 x-forwarded-for"),
        ("nginx", [*ALL[1:], ("X-Original-Method", "G T")], PEER, 400, "method 'G T'"),
        ("nginx", [*ALL[:2], ("X-Real-IP", "1.2.3.4, 5.6.7.8")], PEER, 400, "a list in x-real-ip"),
        ("nginx", [*ALL[:2], ("X-Real-IP", "unix:")], PEER, 400, "'unix:': not an address"),
        ("caddy", [*ALL[3:5], ("X-Forwarded-Host", "a, b")], PEER, 400, "list in x-forwarded-host"),
        ("caddy", [*ALL[3:5], ("X-Forwarded-Proto", "ftp")], PEER, 400, "x-forwarded-proto 'ftp'"),
    ],
)
def test_what_its_proxy_would_never_send_is_refused(
    proxy: Proxy | None,
    headers: list[tuple[str, str]],
    peer: str,
    status: int,
    reason: str,
) -> None:
    with pytest.raises(ForwardAuthRefused) as caught:
        read_forwarded(proxy, headers, "/_gateway/decision", peer, TRUSTED)
    assert caught.value.status == status
    assert reason in caught.value.reason


def test_absent_host_client_and_scheme_are_empty_not_guessed() -> None:
    headers = [("X-Forwarded-Method", "GET"), ("X-Forwarded-Uri", "/")]
    got = read_forwarded("caddy", headers, "/_gateway/decision", "10.0.0.1", TRUSTED)
    assert (got.host, got.client, got.scheme, got.cookies) == ("", "", "http", ())
    v6 = read_forwarded(
        "envoy", [("x-forwarded-for", "2001:db8::1")], "/_gateway/decision/", PEER, TRUSTED
    )
    assert (v6.client, v6.target) == ("2001:db8::1", "/")


def test_every_family_header_is_named_in_lowercase_as_the_index_is_keyed() -> None:
    for family in FAMILIES.values():
        names = [family.method, family.target, family.host, family.client, family.scheme]
        assert all(n is None or n == n.lower() for n in names), family


def test_header_names_are_read_in_any_case_and_a_second_line_in_another_case_is_refused() -> None:
    shouted = [(name.upper(), value) for name, value in ALL]
    read = read_forwarded("nginx", shouted, "/_gateway/decision", PEER, TRUSTED)
    assert (read.method, read.target, read.cookies) == ("DELETE", "/office/nginx", ("a=1", "b=2"))
    twice = [*ALL, ("x-original-uri", "/pay")]
    with pytest.raises(ForwardAuthRefused) as caught:
        read_forwarded("nginx", twice, "/_gateway/decision", PEER, TRUSTED)
    assert (caught.value.status, caught.value.reason) == (
        400,
        "forward-auth request with 2 x-original-uri headers",
    )


def test_the_peer_is_trusted_by_the_trusted_proxies_of_each_request() -> None:
    # The peer's verdict is remembered per list: a reload that drops the proxy refuses it.
    other = (ipaddress.ip_network("192.0.2.0/24"),)
    for trusted, allowed in ((TRUSTED, True), (other, False), (TRUSTED, True), ((), False)):
        if allowed:
            read_forwarded("nginx", ALL, "/_gateway/decision", PEER, trusted)
            continue
        with pytest.raises(ForwardAuthRefused) as caught:
            read_forwarded("nginx", ALL, "/_gateway/decision", PEER, list(trusted))
        assert caught.value.status == 403
