"""Checks that span several config keys: listeners that clash.

Pure functions over parsed values; the loader turns their answers into located errors. (The
settings that forget the last disable on a restart are judged by each store, in
gateway/settings/options.py.)
"""

from __future__ import annotations

import ipaddress

Address = ipaddress.IPv4Address | ipaddress.IPv6Address | str
_LOCALHOST = frozenset({ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")})


def _addresses(host: str) -> frozenset[Address]:
    """The addresses a listen host binds: an IP itself; localhost both loopbacks (it resolves
    to either); any other name itself, lower-cased."""
    try:
        return frozenset({ipaddress.ip_address(host)})
    except ValueError:
        return _LOCALHOST if host.lower() == "localhost" else frozenset({host.lower()})


def _show(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def listener_clash(listen: tuple[str, int], admin: tuple[str, int]) -> str | None:
    """Why `admin_listen` cannot sit beside `listen`, or None.

    The same port on equal addresses, or on a wildcard (0.0.0.0, ::) and any address: one of
    the two binds would fail at start-up, or the public listener would take admin traffic.
    Port 0 (any free port) never clashes.
    """
    (lhost, lport), (ahost, aport) = listen, admin
    if lport != aport or lport == 0:
        return None
    laddrs, aaddrs = _addresses(lhost), _addresses(ahost)
    if laddrs & aaddrs:
        return (
            f"{_show(ahost, aport)} is the address of listen ({_show(lhost, lport)}); the "
            "reserved endpoints need a listener of their own (another port)"
        )
    for host, addrs in ((lhost, laddrs), (ahost, aaddrs)):
        if any(not isinstance(a, str) and a.is_unspecified for a in addrs):
            return (
                f"{_show(ahost, aport)} overlaps listen ({_show(lhost, lport)}): {host} is every "
                f"address, so both would take port {lport}; use another port"
            )
    return None
