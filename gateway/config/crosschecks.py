"""Checks that span several config keys: listeners that clash, office hosts customers share.

Pure functions over parsed values; the loader turns their answers into located errors. (The
settings that forget the last disable on a restart are judged by each store, in
gateway/settings/options.py.)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from gateway.wire import hosts as hostnames

Address = ipaddress.IPv4Address | ipaddress.IPv6Address | str
_LOCALHOST = frozenset({ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")})
# An empty host (a bare port) binds both wildcards: one socket per address family.
_EVERY = frozenset({ipaddress.ip_address("0.0.0.0"), ipaddress.ip_address("::")})


def _addresses(host: str) -> frozenset[Address]:
    """The addresses a listen host binds: an IP itself; localhost both loopbacks (it resolves
    to either); a bare port (EVERY_INTERFACE) both wildcards; any other name itself, lower-cased."""
    if not host:
        return _EVERY
    try:
        return frozenset({ipaddress.ip_address(host)})
    except ValueError:
        return _LOCALHOST if host.lower() == "localhost" else frozenset({host.lower()})


def show_address(host: str, port: int) -> str:
    """`host:port` as written in the config: `[v6]:port`, and `*:port` for every interface."""
    if not host:
        return f"*:{port}"
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
    ashown, lshown = show_address(ahost, aport), show_address(lhost, lport)
    if laddrs & aaddrs:
        return (
            f"{ashown} is the address of listen ({lshown}); the reserved endpoints need a "
            "listener of their own (another port)"
        )
    for host, addrs in ((lhost, laddrs), (ahost, aaddrs)):
        if any(not isinstance(a, str) and a.is_unspecified for a in addrs):
            return (
                f"{ashown} overlaps listen ({lshown}): {host or '*'} is every address, so both "
                f"would take port {lport}; use another port"
            )
    return None


def _pattern_overlap(a: str, b: str) -> str | None:
    """A host both patterns match, or the wildcard of the names they share; None if none."""
    if not a.startswith("*.") and not b.startswith("*."):
        return a if a == b else None
    if not a.startswith("*."):
        return a if hostnames.matches(b, a) else None
    if not b.startswith("*."):
        return b if hostnames.matches(a, b) else None
    # Two wildcards share every name below the deeper domain when one domain is the other or
    # lies below it (*.example.com and *.b.example.com share x.b.example.com).
    deep, shallow = (a, b) if len(a) >= len(b) else (b, a)
    return deep if deep == shallow or deep.endswith(shallow[1:]) else None


def hosts_overlap(a: Sequence[str], b: Sequence[str]) -> str | None:
    """What two routes' `hosts` lists both match, or None when no host name matches both.

    The lists are canonical patterns (lower case, no final dot; `routing.match` compares the
    canonical Host with these). An empty list is any host, so it overlaps every list: the
    answer is then "any host" or the other list's first pattern. Two patterns overlap when one
    name matches both (`hosts.matches`): equal names; a name and a wildcard above it
    (`portal.example.com`, `*.example.com`); two wildcards on the same or nested domains.
    Ports, methods and paths play no part: a shared host is the question.
    """
    if not a and not b:
        return "any host"
    if not a or not b:
        return (a or b)[0]
    for x in a:
        for y in b:
            shared = _pattern_overlap(x, y)
            if shared is not None:
                return shared
    return None
