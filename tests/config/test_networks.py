"""Networks in the config: every address in pieces is still every address."""

from __future__ import annotations

import ipaddress

import pytest

from gateway.config.networks import cidr_of, every_family


def nets(*cidrs: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [cidr_of(c) for c in cidrs]


@pytest.mark.parametrize(
    ("cidrs", "every"),
    [
        (("10.0.0.0/8", "192.168.0.0/16"), None),
        (("0.0.0.0/1", "128.0.0.0/1"), "IPv4"),
        (("::/1", "8000::/1"), "IPv4"),  # all of IPv6 holds ::ffff:0:0/96: all of IPv4 too
        (("::ffff:0:0/96",), "IPv4"),  # every IPv4 client on a dual-stack listener
        (("::ffff:0:0/97", "128.0.0.0/1"), "IPv4"),  # half mapped, half plain
        (("::ffff:0:0/97", "2001:db8::/32"), None),
    ],
)
def test_every_family_sees_every_address_in_pieces(
    cidrs: tuple[str, ...], every: str | None
) -> None:
    assert every_family(nets(*cidrs)) == every


def test_a_host_address_is_a_network_of_one() -> None:
    assert cidr_of("10.20.3.4") == ipaddress.IPv4Network("10.20.3.4/32")
    assert cidr_of("10.20.3.4/16") == ipaddress.IPv4Network("10.20.0.0/16")  # not strict
    with pytest.raises(ValueError):
        cidr_of("10.20.300.4")
