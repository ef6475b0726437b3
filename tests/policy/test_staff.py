"""Staff networks: which client addresses are in `allow_while_disabled`."""

from __future__ import annotations

import ipaddress
import time

import pytest

from gateway.policy.staff import StaffNetworks, in_networks

NETS = (ipaddress.ip_network("10.20.0.0/16"), ipaddress.ip_network("2001:db8::/48"))


@pytest.mark.parametrize(
    ("client", "inside"),
    [
        ("10.20.3.4", True),
        ("10.21.0.1", False),
        ("2001:db8::7", True),
        ("2001:db9::7", False),
        ("::ffff:10.20.3.4", True),  # an IPv4 client on a dual-stack socket
        ("::ffff:10.21.3.4", False),
        ("", False),
        ("unix:/tmp/x", False),
        ("10.20.3.4, 1.2.3.4", False),
    ],
)
def test_in_networks(client: str, inside: bool) -> None:
    assert in_networks(client, NETS) is inside


def test_no_networks_lets_nobody_in() -> None:
    assert in_networks("10.20.3.4", ()) is False


def test_staff_networks_agree_with_the_plain_reading() -> None:
    import random

    rng = random.Random(11)
    nets = [
        ipaddress.ip_network(f"10.{rng.randrange(256)}.{rng.randrange(256)}.0/24")
        for _ in range(300)
    ]
    nets += [ipaddress.ip_network("10.7.0.0/16"), ipaddress.ip_network("2001:db8:1::/48")]
    nets += [ipaddress.ip_network("::ffff:192.0.2.0/120"), ipaddress.ip_network("fe80::/10")]
    staff = StaffNetworks(nets)
    clients = [
        f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}" for _ in range(3000)
    ]
    clients += ["10.7.255.255", "10.8.0.0", "192.0.2.9", "::ffff:192.0.2.9", "::ffff:10.7.1.1"]
    clients += ["2001:db8:1::1", "2001:db8:2::1", "fe80::1", "fec0::1", "", "nonsense", "::"]
    for client in clients:
        plain = _plain(client, nets)
        assert staff.holds(client) is plain, client


def _plain(client: str, nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return False
    seen = [address]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        seen.append(address.ipv4_mapped)
    return any(a.version == n.version and a in n for a in seen for n in nets)


def test_a_huge_list_costs_a_lookup_not_a_scan() -> None:
    # 65,536 networks (a careless paste of a provider's ranges): a scan costs ~0.3 s of the
    # event loop per disabled request; a lookup, microseconds.
    nets = [ipaddress.ip_network(f"10.{i // 256}.{i % 256}.0/24") for i in range(0, 65536, 1)]
    nets = [n for i, n in enumerate(nets) if i % 2 == 0]  # not collapsible into a few
    staff = StaffNetworks(nets)
    started = time.perf_counter()
    for i in range(2000):
        staff.holds(f"192.0.{i % 256}.1")
    assert time.perf_counter() - started < 1.0
    assert staff.holds("10.0.0.1") and not staff.holds("10.0.1.1")
