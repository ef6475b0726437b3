"""Cookie parsing as browsers send cookies, and the Set-Cookie lines that expire them.

Python's http.cookies rejects or mangles real-world Cookie headers (quoted values, odd
spacing, several Cookie lines); a session cookie that the gateway fails to see would slip past
the gate. This parser follows RFC 6265 5.4 as browsers emit it: `name=value` pairs separated
by `;`, whitespace trimmed, values possibly quoted, every Cookie line read.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence

EXPIRED = "Thu, 01 Jan 1970 00:00:00 GMT"


def parse(cookie_lines: Iterable[str]) -> list[tuple[str, str]]:
    """All (name, value) pairs in order, duplicates kept; a pair without '=' has an empty name."""
    pairs: list[tuple[str, str]] = []
    for line in cookie_lines:
        for part in line.split(";"):
            if not part.strip():
                continue
            name, eq, value = part.partition("=")
            if not eq:
                name, value = "", name
            value = value.strip(" \t")
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            pairs.append((name.strip(" \t"), value))
    return pairs


class SessionCookieMatcher:
    """Exact names and shell-style patterns (`remember_*`) of customer session cookies."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self.exact = frozenset(p for p in patterns if not any(c in p for c in "*?["))
        self.globs = tuple(p for p in patterns if p not in self.exact)

    def __call__(self, name: str) -> bool:
        # SECURITY: cookie names are case-sensitive in browsers but not in every framework;
        # matching case-insensitively can only expire more, never let a session through.
        lower = name.lower()
        if lower in {e.lower() for e in self.exact}:
            return True
        return any(fnmatch.fnmatchcase(lower, g.lower()) for g in self.globs)


def session_names(cookie_lines: Iterable[str], matcher: SessionCookieMatcher) -> list[str]:
    """Names of the configured session cookies a request carries (each once, in order)."""
    seen: list[str] = []
    for name, _ in parse(cookie_lines):
        if name and matcher(name) and name not in seen:
            seen.append(name)
    return seen


def without(cookie_lines: Iterable[str], drop: Iterable[str]) -> str | None:
    """One Cookie line without the named cookies; None when nothing is left."""
    dropped = set(drop)
    kept = [f"{n}={v}" if n else v for n, v in parse(cookie_lines) if n not in dropped]
    return "; ".join(kept) if kept else None


def expiry_lines(name: str, paths: Sequence[str], domains: Sequence[str]) -> list[str]:
    """Set-Cookie values deleting `name` for each configured Path and Domain variant."""
    secure = name.startswith(("__Secure-", "__Host-"))
    if name.startswith("__Host-"):
        # Browsers only accept __Host- cookies with Path=/ and no Domain.
        paths, domains = ("/",), ()
    lines = []
    for path in paths:
        for domain in (None, *domains):
            line = f"{name}=; Max-Age=0; Expires={EXPIRED}; Path={path}"
            if domain:
                line += f"; Domain={domain}"
            if secure:
                line += "; Secure"
            lines.append(line)
    return lines


_TCHARS = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def is_token(name: str) -> bool:
    """RFC 6265 cookie-name: an RFC 9110 token (no separators, spaces, controls or non-ASCII)."""
    return bool(name) and all(c in _TCHARS for c in name)
