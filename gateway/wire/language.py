"""Which of the gateway's page languages a client prefers, from its Accept-Language header.

RFC 9110 section 12.5.4 with RFC 4647 lookup: ranges by q-value (header order breaks ties),
`q=0` excludes a language, `fr-CA` falls back to `fr`, a bare `fr` also takes a page written
for `fr-ca`, and `*` is any language (the default first). Nothing matching: the default.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# A header is a few ranges; a client sending hundreds gets the first ones read, not a
# quadratic walk (the disabled path is hot).
MAX_RANGES = 32
_RANGE = re.compile(r"^(\*|[a-z]{1,8}(?:-[a-z0-9]{1,8})*)$")


def parse_accept_language(header: str) -> list[tuple[str, float]]:
    """`fr-CA, fr;q=0.8, *;q=0.1` -> [("fr-ca", 1.0), ("fr", 0.8), ("*", 0.1)], lower-cased,
    in header order; malformed ranges are skipped, a malformed q counts as 0."""
    out: list[tuple[str, float]] = []
    for part in header.split(",")[:MAX_RANGES]:
        tag, *params = (p.strip() for p in part.split(";"))
        tag = tag.lower()
        if not _RANGE.match(tag):
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
                if q != q:  # NaN
                    q = 0.0
        out.append((tag, q))
    return out


def _lookup(tag: str, available: tuple[str, ...]) -> str | None:
    # The range itself, then shorter prefixes of it (fr-ca -> fr), then a page for a more
    # specific tag of it (fr -> fr-ca).
    parts = tag.split("-")
    for end in range(len(parts), 0, -1):
        candidate = "-".join(parts[:end])
        if candidate in available:
            return candidate
    return next((lang for lang in available if lang.startswith(tag + "-")), None)


def choose_language(header: str, available: Iterable[str], default: str = "en") -> str:
    """The language among `available` (lower-case tags) and `default` the client prefers."""
    langs = tuple(dict.fromkeys((default, *available)))
    ranges = parse_accept_language(header)
    excluded = {tag for tag, q in ranges if q == 0.0 and tag != "*"}
    # sorted() is stable: equal q-values keep the order the client wrote them in.
    for tag, _q in sorted((r for r in ranges if r[1] > 0.0), key=lambda r: -r[1]):
        if tag == "*":
            found = next((lang for lang in langs if lang not in excluded), None)
        else:
            found = _lookup(tag, langs)
        if found is not None and found not in excluded:
            return found
    return default
