"""Host names: one strict syntax check and one canonical form, for routing and for config."""

from __future__ import annotations

import ipaddress
import re

_LABEL = r"(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)"
_NAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\.?$")
_HOSTPORT = re.compile(r"^(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(?::(\d{1,5}))?$")


def valid_name(name: str) -> bool:
    name = name.lower()
    if len(name) > 254 or not name:
        return False
    if _NAME.match(name):
        return True
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def canonical_host(value: str) -> str | None:
    """The Host header reduced to what routing compares: lower case, no port, no final dot.

    None when the value is not one syntactically valid host (empty, a list, userinfo,
    spaces, a bad port). SECURITY: routing compares only this form, so `Office.Example.com.:80`
    and `office.example.com` can never be told apart by a rule.
    """
    m = _HOSTPORT.match(value.strip(" \t").lower())
    if not m:
        return None
    host, port = m.group(1), m.group(2)
    if port is not None and not 0 < int(port) < 65536:
        return None
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return None
        return host
    host = host[:-1] if host.endswith(".") else host
    if not host or not valid_name(host):
        return None
    return host


def valid_pattern(pattern: str) -> bool:
    body = pattern[2:] if pattern.startswith("*.") else pattern
    return valid_name(body) and "*" not in body


def canonical_pattern(pattern: str) -> str:
    return pattern.lower().rstrip(".")


def matches(pattern: str, host: str) -> bool:
    """`*.example.com` matches any name below example.com (not example.com itself), as nginx does."""
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern
