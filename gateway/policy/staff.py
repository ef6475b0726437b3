"""Staff networks (`customer_portal.allow_while_disabled`): is a client address in one?"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def in_networks(client_ip: str, networks: Sequence[IPNetwork]) -> bool:
    """True when `client_ip` (the real client address, resolved through trusted proxies) is in
    one of `networks`; an IPv4 client seen on a dual-stack socket (`::ffff:a.b.c.d`) is judged
    by its IPv4 address. Anything that is not an address is in none."""
    if not networks or not client_ip:
        return False
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [address]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        candidates.append(address.ipv4_mapped)
    return any(a in net for a in candidates for net in networks if a.version == net.version)
