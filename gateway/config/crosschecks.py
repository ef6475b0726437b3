"""Checks that span several config keys: listeners that clash, settings that forget.

Pure functions over parsed values; the loader turns their answers into located errors and
warnings.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.config.loader import SettingsConfig


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


FORGETS = (
    "a restart forgets the last disable, so sessions from before a disable that happened "
    "before the restart would be resumed"
)


def _select_columns(query: str) -> int | None:
    """How many columns `SELECT a, b FROM ...` returns, when that is plain to see."""
    m = re.match(r"(?is)^\s*select\s+(.*?)(?:\s+from\s.*)?;?\s*$", query)
    if m is None or m.group(1).strip().startswith("*"):
        return None
    depth, columns, quote = 0, 1, ""
    for ch in m.group(1):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"`":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            columns += 1
    return columns


def forgets_last_disable(cfg: SettingsConfig) -> str | None:
    """Why, as far as the config shows, a restart would forget the last disable; else None.

    Known only for http/file (no `changed_at_field`) and SQL (a one-column query); a Redis
    store may or may not hold `<key>:changed_at`, so the poller tells at its first read.
    """
    if cfg.state_file:
        return None
    base = cfg.source.split(":", 1)[0].split("+", 1)[0].lower()
    if base in ("http", "https", "file") and not cfg.changed_at_field:
        return f"neither settings.changed_at_field nor settings.state_file is set: {FORGETS}"
    if base in ("sqlite", "postgresql", "mysql") and _select_columns(cfg.query or "") == 1:
        return (
            "the query returns no change time (a second column) and settings.state_file is "
            f"not set: {FORGETS}"
        )
    return None
