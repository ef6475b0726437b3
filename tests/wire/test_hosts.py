"""Host names: the one canonical form routing compares, and nginx-style wildcard patterns."""

from __future__ import annotations

import pytest

from gateway.wire.hosts import (
    canonical_host,
    canonical_pattern,
    matches,
    valid_name,
    valid_pattern,
)


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("office.example.com", "office.example.com"),
        ("Office.Example.COM.:80", "office.example.com"),  # case, final dot and port go
        ("  portal.example.com\t", "portal.example.com"),  # optional whitespace around it
        ("127.0.0.1:8080", "127.0.0.1"),
        ("[::1]:443", "[::1]"),
        ("[2001:DB8::1]", "[2001:db8::1]"),
        ("under_score.example", "under_score.example"),
        ("", None),
        ("a.example, b.example", None),  # a list is not one host
        ("user@office.example.com", None),  # userinfo
        ("office example.com", None),
        ("office.example.com:0", None),
        ("office.example.com:65536", None),
        ("office.example.com:http", None),
        ("[::g]", None),  # brackets hold an IPv6 address or nothing
        (".", None),
        ("-bad.example", None),
        ("a" * 64 + ".example", None),  # a label is at most 63 characters
    ],
)
def test_canonical_host(value: str, canonical: str | None) -> None:
    assert canonical_host(value) == canonical


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("example.com", True),
        ("EXAMPLE.com", True),
        ("example.com.", True),
        ("10.0.0.1", True),
        ("[::1]", True),
        ("", False),
        ("a..b", False),
        ("x" * 255, False),
        ("bad host", False),
    ],
)
def test_valid_name(name: str, valid: bool) -> None:
    assert valid_name(name) is valid


@pytest.mark.parametrize(
    ("pattern", "valid"),
    [
        ("*.example.com", True),
        ("office.example.com", True),
        ("*.*.example", False),
        ("a*.b", False),
    ],
)
def test_valid_pattern(pattern: str, valid: bool) -> None:
    assert valid_pattern(pattern) is valid


def test_patterns_compare_in_the_canonical_form() -> None:
    assert canonical_pattern("Office.Example.com.") == "office.example.com"


@pytest.mark.parametrize(
    ("pattern", "host", "matched"),
    [
        ("office.example.com", "office.example.com", True),
        ("office.example.com", "xoffice.example.com", False),
        ("*.example.com", "office.example.com", True),
        ("*.example.com", "a.b.example.com", True),
        ("*.example.com", "example.com", False),  # the wildcard needs a label, as in nginx
        ("*.example.com", "badexample.com", False),
        ("*.example.com", ".example.com", False),
    ],
)
def test_wildcards_match_names_below_the_domain_only(
    pattern: str, host: str, matched: bool
) -> None:
    assert matches(pattern, host) is matched
