"""The self-check's judgement, pure: where a probe may come from and whether its answer is right.

After each flip the gateway asks its own public listener for one customer and one office
target (gateway/edge/selfcheck.py). These functions hold what that proves: while disabled the
customer target must get the 503 unavailable page and the office target must not; while
enabled the customer target must not get the page. A probe comes from a loopback address
outside every network that passes customer routes while disabled, so an allowlist can never
make a broken gate look right.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from gateway.config import UNAVAILABLE_MESSAGE
from gateway.policy.staff import StaffNetworks

Check = Literal["customer", "office"]
CHECKS: tuple[Check, ...] = ("customer", "office")
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# 127.0.0.1, 127.0.0.2, ... then ::1: the first one no listed network contains.
_LOOPBACK_TRIES = 256


@dataclass(frozen=True)
class Result:
    """One check's outcome: `ok`, when it was decided (epoch seconds), and why."""

    ok: bool
    at: float
    detail: str


def probe_source(networks: Sequence[IPNetwork], ipv6: bool = False) -> str | None:
    """A loopback address (127.0.0.0/8, or ::1 for an IPv6 listener) in none of `networks`.

    None when every candidate is listed: the check is then reported as failed, never run from
    an address the gate might let through.
    """
    # SECURITY: an allowlisted source would pass a customer route while disabled and make a
    # gate that lets customers in look like one that refuses them.
    if ipv6:
        candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [
            ipaddress.IPv6Address("::1")
        ]
    else:
        base = int(ipaddress.IPv4Address("127.0.0.1"))
        candidates = [ipaddress.IPv4Address(base + i) for i in range(_LOOPBACK_TRIES)]
    staff = StaffNetworks(networks)  # a lookup per candidate, not a scan of a long list
    for address in candidates:
        if not staff.holds(str(address)):
            return str(address)
    return None


def is_unavailable_page(status: int, body: str) -> bool:
    """The gateway's refusal of a customer route: 503 with the sentence."""
    return status == 503 and UNAVAILABLE_MESSAGE in body


def judge(check: Check, enabled: bool, status: int, body: str) -> str | None:
    """Why the answer is wrong for `check` while the portal is `enabled`; None when right."""
    refused = is_unavailable_page(status, body)
    if check == "office":
        if refused or UNAVAILABLE_MESSAGE in body:
            return f"office answered the unavailable page ({status})"
        return None
    if enabled:
        if refused or UNAVAILABLE_MESSAGE in body:
            return f"customer portal enabled, but the customer check got the unavailable page ({status})"
        return None
    if status != 503:
        return f"customer portal disabled, but the customer check got {status}, not 503"
    if UNAVAILABLE_MESSAGE not in body:
        return "customer portal disabled: the 503 answer lacks the unavailable sentence"
    return None


def passed(check: Check, enabled: bool, status: int) -> str:
    """The detail of a passing check."""
    word = "disabled" if not enabled else "enabled"
    if check == "customer" and not enabled:
        return f"customer portal {word}: customer check got the unavailable page ({status})"
    return f"customer portal {word}: {check} check got {status}"
