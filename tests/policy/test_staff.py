"""Staff networks: which client addresses are in `allow_while_disabled`."""

from __future__ import annotations

import ipaddress

import pytest

from gateway.policy.staff import in_networks

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
