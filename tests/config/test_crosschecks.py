"""Checks across keys: listeners that clash, host lists that overlap."""

from __future__ import annotations

import pytest

from gateway.config.crosschecks import hosts_overlap, listener_clash, show_address


@pytest.mark.parametrize(
    ("listen", "admin", "clash"),
    [
        (("127.0.0.1", 8080), ("127.0.0.1", 8081), None),
        (("127.0.0.1", 0), ("127.0.0.1", 0), None),  # two free ports
        (("127.0.0.1", 8080), ("127.0.0.2", 8080), None),
        (("example.com", 8080), ("other.example", 8080), None),
        (
            ("Example.com", 8080),
            ("example.COM", 8080),
            "example.COM:8080 is the address of listen (Example.com:8080); the reserved "
            "endpoints need a listener of their own (another port)",
        ),
        (
            ("localhost", 8080),
            ("::1", 8080),
            "[::1]:8080 is the address of listen (localhost:8080); the reserved endpoints "
            "need a listener of their own (another port)",
        ),
        (
            ("::", 9000),
            ("10.0.0.5", 9000),
            "10.0.0.5:9000 overlaps listen ([::]:9000): :: is every address, so both would "
            "take port 9000; use another port",
        ),
        (
            ("", 9000),  # a bare port: every interface
            ("127.0.0.1", 9000),
            "127.0.0.1:9000 overlaps listen (*:9000): * is every address, so both would take "
            "port 9000; use another port",
        ),
        (
            ("", 9000),
            ("", 9000),
            "*:9000 is the address of listen (*:9000); the reserved endpoints need a listener "
            "of their own (another port)",
        ),
        (("", 9000), ("", 9001), None),
        (
            ("10.0.0.5", 9000),
            ("0.0.0.0", 9000),
            "0.0.0.0:9000 overlaps listen (10.0.0.5:9000): 0.0.0.0 is every address, so both "
            "would take port 9000; use another port",
        ),
    ],
)
def test_listener_clash(listen: tuple[str, int], admin: tuple[str, int], clash: str | None) -> None:
    assert listener_clash(listen, admin) == clash


def test_addresses_are_shown_as_written() -> None:
    assert show_address("127.0.0.1", 80) == "127.0.0.1:80"
    assert show_address("::1", 80) == "[::1]:80"
    assert show_address("", 80) == "*:80"


@pytest.mark.parametrize(
    ("office", "customer", "shared"),
    [
        # No hosts is any host: it overlaps everything.
        ((), (), "any host"),
        ((), ("portal.example.com",), "portal.example.com"),
        (("office.example.com",), (), "office.example.com"),
        # Names: equal, or not.
        (("portal.example.com",), ("portal.example.com",), "portal.example.com"),
        (("office.example.com",), ("portal.example.com",), None),
        (
            ("office.example.com", "staff.example.com"),
            ("x.org", "staff.example.com"),
            "staff.example.com",
        ),
        # A name and a wildcard above it; a wildcard never matches its own domain.
        (("*.example.com",), ("portal.example.com",), "portal.example.com"),
        (("portal.example.com",), ("*.example.com",), "portal.example.com"),
        (("a.b.example.com",), ("*.example.com",), "a.b.example.com"),
        (("example.com",), ("*.example.com",), None),
        (("*.example.com",), ("example.com",), None),
        (("portal.example.org",), ("*.example.com",), None),
        (("xexample.com",), ("*.example.com",), None),
        # Two wildcards: the same or nested domains share names, others do not.
        (("*.example.com",), ("*.example.com",), "*.example.com"),
        (("*.example.com",), ("*.b.example.com",), "*.b.example.com"),
        (("*.b.example.com",), ("*.example.com",), "*.b.example.com"),
        (("*.example.com",), ("*.example.org",), None),
        (("*.example.com",), ("*.bexample.com",), None),
    ],
)
def test_hosts_overlap(
    office: tuple[str, ...], customer: tuple[str, ...], shared: str | None
) -> None:
    assert hosts_overlap(office, customer) == shared
    # Symmetric, up to which shared host is named.
    assert (hosts_overlap(customer, office) is None) == (shared is None)
