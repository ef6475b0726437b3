"""Networks in the config: staff networks (`customer_portal.allow_while_disabled`) and the
trusted proxies' CIDRs, parsed and checked once at load."""

from __future__ import annotations

import ipaddress

from gateway.config.yamlnodes import Reader, as_str

_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")


def staff_networks(
    r: Reader, name: str
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    out = []
    for i, (cidr, n) in enumerate(r.strings(name, ()) or ()):
        try:
            network = cidr_of(cidr)
        except ValueError:
            r.errors.add(n, f"{r.key(name)}[{i}]", f"expected an IP or CIDR, got {cidr!r}")
            continue
        if network.prefixlen == 0:
            # SECURITY: a staff network that holds every address lets every customer through.
            r.errors.add(
                n, f"{r.key(name)}[{i}]", f"{cidr!r} is every address, not a staff network"
            )
            continue
        out.append(network)
    everyone = every_family(out)
    if everyone is not None:
        # SECURITY: /0 in pieces (two /1s, or ::ffff:0:0/96 for every IPv4 client on a
        # dual-stack listener) lets every customer through as surely as /0 does.
        r.errors.add(
            r.at(name),
            r.key(name),
            f"these networks together are every {everyone} address, not a staff network",
        )
        return ()
    return tuple(out)


def every_family(networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> str | None:
    """`IPv4` or `IPv6` when the networks together hold every address of that family (an IPv4
    client on a dual-stack listener is `::ffff:a.b.c.d`, judged by both spellings)."""
    v4: list[ipaddress.IPv4Network] = []
    v6: list[ipaddress.IPv6Network] = []
    for net in networks:
        if isinstance(net, ipaddress.IPv4Network):
            v4.append(net)
            continue
        v6.append(net)
        if net.supernet_of(_MAPPED):
            v4.append(ipaddress.IPv4Network("0.0.0.0/0"))
        elif net.subnet_of(_MAPPED):
            low = int(net.network_address) & 0xFFFFFFFF
            v4.append(ipaddress.IPv4Network((low, net.prefixlen - 96)))
    if any(n.prefixlen == 0 for n in ipaddress.collapse_addresses(v4)):
        return "IPv4"
    if any(n.prefixlen == 0 for n in ipaddress.collapse_addresses(v6)):
        return "IPv6"
    return None


def cidr_of(value: object) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(as_str(value), strict=False)
