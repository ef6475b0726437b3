"""Staff networks (`customer_portal.allow_while_disabled`): is a client address in one?"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Sequence

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class StaffNetworks:
    """The networks, collapsed and sorted once (per config): a lookup is a binary search, so a
    long list costs the gate microseconds per request, never a scan of every network."""

    def __init__(self, networks: Sequence[IPNetwork]) -> None:
        self._starts: dict[int, list[int]] = {4: [], 6: []}
        self._ends: dict[int, list[int]] = {4: [], 6: []}
        v4 = [n for n in networks if isinstance(n, ipaddress.IPv4Network)]
        v6 = [n for n in networks if isinstance(n, ipaddress.IPv6Network)]
        collapsed: list[IPNetwork] = [*ipaddress.collapse_addresses(v4)]
        collapsed += ipaddress.collapse_addresses(v6)
        for net in collapsed:  # per family: sorted, disjoint
            self._starts[net.version].append(int(net.network_address))
            self._ends[net.version].append(int(net.broadcast_address))

    def __bool__(self) -> bool:
        return bool(self._starts[4] or self._starts[6])

    def _has(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        starts, value = self._starts[address.version], int(address)
        i = bisect.bisect_right(starts, value) - 1
        return i >= 0 and value <= self._ends[address.version][i]

    def holds(self, client_ip: str) -> bool:
        """True when `client_ip` (the real client address, resolved through trusted proxies) is
        in one of the networks; an IPv4 client seen on a dual-stack socket (`::ffff:a.b.c.d`) is
        judged by both spellings. Anything that is not an address is in none."""
        if not client_ip or not self:
            return False
        try:
            address = ipaddress.ip_address(client_ip)
        except ValueError:
            return False
        if self._has(address):
            return True
        mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
        return mapped is not None and self._has(mapped)


def in_networks(client_ip: str, networks: Sequence[IPNetwork]) -> bool:
    """`StaffNetworks(networks).holds(client_ip)`, for a one-off question."""
    return StaffNetworks(networks).holds(client_ip)
