"""Cookie parsing as browsers send cookies, the names upstreams read them under, and expiry.

Python's http.cookies rejects or mangles real-world Cookie headers (quoted values, odd
spacing, several Cookie lines); a session cookie that the gateway fails to see would slip past
the gate. This parser follows RFC 6265 5.4 as browsers emit it: `name=value` pairs separated
by `;`, whitespace trimmed, values possibly quoted, every Cookie line read.

The upstream does not parse like this, though: frameworks trim other whitespace, decode or
mangle names (PHP reads `portal.session` as `portal_session`) and some split on `,` or
whitespace too. So a name is matched under every normalisation docs/cookie-names.md lists
(`upstream_names`), and a value is searched for the pairs such parsers see inside it
(`embedded_names`). Matching more than an upstream would only ever withholds more.
"""

from __future__ import annotations

import contextlib
import fnmatch
import re
import string
from collections.abc import Iterable, Sequence
from functools import lru_cache
from urllib.parse import unquote_to_bytes

EXPIRED = "Thu, 01 Jan 1970 00:00:00 GMT"

# RFC 6265 cookie-name = RFC 9110 token.
TCHAR = frozenset("!#$%&'*+-.^_`|~" + string.ascii_letters + string.digits)

# What ECMAScript's String.prototype.trim removes (cookie@0.x trims names with it).
_JS_SPACE = "\t\n\v\f\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
_JS_SPACE += "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
# Parsers that split on more than `;`: commas (Rack < 2.2.3, Tomcat's RFC 2109 mode and legacy
# processor) and whitespace (Python's SimpleCookie, Tomcat's legacy processor).
_SPLIT = re.compile(r"[,\s]+")
_LOOSE = (
    "".join(
        c for c in map(chr, range(0x3001)) if c.isspace() or ord(c) < 0x21 or 0x7F <= ord(c) <= 0xA0
    )
    + _JS_SPACE
    + '"(),/:;<=>?@[\\]{}'
)


def _loose(name: str) -> str:
    # The union of what any parser skips around a name: whitespace of any kind, controls,
    # quotes, and the separators Tomcat's legacy processor skips before a token.
    return name.strip(_LOOSE)


def is_token(name: str) -> bool:
    """True when `name` is an RFC 6265 cookie-name (an RFC 9110 token)."""
    return bool(name) and all(c in TCHAR for c in name)


def _views(raw: str) -> set[str]:
    # aiohttp decodes header bytes as UTF-8 (surrogateescape); WSGI, ASGI, Node and Java see one
    # character per byte (latin-1). Both readings of the same bytes are names upstream.
    views = {raw, _bytes(raw).decode("latin-1")}
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        views.add(raw.encode("latin-1").decode("utf-8"))  # a str read as latin-1 elsewhere
    return views


def _bytes(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that did not come from an undecodable byte
        return text.encode("utf-8", "surrogatepass")


def _trims(view: str) -> set[str]:
    return {
        view,  # Rack keeps a leading tab, trailing spaces, everything
        view.strip(" \t"),  # RFC 6265, browsers, Werkzeug, cookie@1.x, Tomcat
        view.strip(),  # Django, Starlette (str.strip: all Unicode whitespace)
        view.strip(_JS_SPACE),  # cookie@0.x (String.prototype.trim)
        view.lstrip(" \t\n\v\f\r"),  # PHP: leading isspace() only
        view.lstrip(" "),  # Rack: split(/; */)
    }


def _decodings(name: str) -> set[str]:
    # PHP before 7.4.31/8.0.24/8.1.11 and Rack before 2.2.3 URL-decoded names ('+' is a space).
    if "%" not in name and "+" not in name:
        return set()
    out = set()
    for text in (name, name.replace("+", " ")):
        data = unquote_to_bytes(_bytes(text))
        out.add(data.decode("latin-1"))
        out.add(data.decode("utf-8", "surrogateescape"))
    return out


def _php(name: str) -> str:
    # php_register_variable_ex: leading spaces dropped, a C string (cut at NUL), `name[...]`
    # is an array under `name`, an unmatched `[` and every space or dot become `_`.
    name = name.lstrip(" ").split("\0", 1)[0]
    bracket = name.find("[")
    if bracket >= 0 and "]" in name[bracket + 1 :]:
        name = name[:bracket]
    return name.replace(" ", "_").replace(".", "_").replace("[", "_")


@lru_cache(maxsize=4096)
def upstream_names(raw: str) -> frozenset[str]:
    """Every name a cookie sent as `raw` may have in one of the parsers docs/cookie-names.md lists."""
    seeds = {raw}
    pieces = [p for p in _SPLIT.split(raw) if p]
    if len(pieces) > 1:
        # `a,portal_session=x` or `a portal_session=x`: the last piece is the one with the value.
        seeds.add(pieces[-1])
    names: set[str] = set()
    for seed in seeds:
        for view in _views(seed):
            trimmed = _trims(view)
            for name in trimmed | {d for t in trimmed for d in _decodings(t)}:
                names.update((name, _php(name), _loose(name), _php(_loose(name))))
    names.discard("")
    return frozenset(names)


def embedded_names(value: str) -> list[str]:
    """Names a parser that splits on `,` or whitespace sees inside what RFC 6265 calls a value."""
    pieces = _SPLIT.split(value.strip('"'))
    # The first piece is this pair's own value; a piece without `=` carries no value to resume.
    return [name for name, eq, _ in (p.partition("=") for p in pieces[1:]) if eq and name]


def parse(cookie_lines: Iterable[str]) -> list[tuple[str, str]]:
    """All (name, value) pairs in order, duplicates kept; a pair without '=' has an empty name."""
    return [(name, value) for name, value, _ in _segments(cookie_lines)]


def _segments(cookie_lines: Iterable[str]) -> list[tuple[str, str, str]]:
    segments: list[tuple[str, str, str]] = []
    for line in cookie_lines:
        for part in line.split(";"):
            raw = part.strip(" \t")
            if not raw:
                continue
            name, eq, value = raw.partition("=")
            if not eq:
                name, value = "", name
            value = value.strip(" \t")
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            segments.append((name.strip(" \t"), value, raw))
    return segments


class SessionCookieMatcher:
    """Exact names and shell-style patterns (`remember_*`) of customer session cookies."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self.exact = frozenset(p for p in patterns if not any(c in p for c in "*?["))
        self.globs = tuple(p for p in patterns if p not in self.exact)
        self._exact = frozenset(e.casefold() for e in self.exact)
        self._globs = tuple(g.casefold() for g in self.globs)

    def _matches(self, name: str) -> bool:
        # SECURITY: cookie names are case-sensitive in browsers but not in every framework;
        # matching case-insensitively can only expire more, never let a session through.
        folded = name.casefold()
        return folded in self._exact or any(fnmatch.fnmatchcase(folded, g) for g in self._globs)

    def __call__(self, raw_name: str) -> bool:
        """True when any name the upstream may read `raw_name` as is a session cookie's."""
        # SECURITY: the upstream, not the gateway, decides which cookie resumes a session.
        return any(self._matches(name) for name in upstream_names(raw_name))

    def carries(self, name: str, value: str) -> bool:
        """True when some upstream would find a session cookie in this parsed pair."""
        if self(name):
            return True
        if not name:
            # PHP, Werkzeug, Rack and Tomcat read `portal_session` (no `=`) as a name.
            return self(value)
        return any(self(embedded) for embedded in embedded_names(value))


def session_names(cookie_lines: Iterable[str], matcher: SessionCookieMatcher) -> list[str]:
    """Raw names of the pairs that carry a session cookie (each once, in order), to expire."""
    seen: list[str] = []
    for name, value in parse(cookie_lines):
        if name and name not in seen and matcher.carries(name, value):
            seen.append(name)
    return seen


def withheld(
    pairs: Iterable[tuple[str, str]], matcher: SessionCookieMatcher, disable_seen: bool
) -> list[str]:
    """Raw names to drop from a customer route's upstream Cookie header (each once, in order).

    Every pair that carries a session cookie under any upstream's reading; and, once a disable
    has been seen, every name that is not an RFC 6265 token (`""` stands for nameless pairs).
    """
    drop: list[str] = []
    for name, value in pairs:
        if name in drop:
            continue
        # SECURITY: a non-token name is read differently by every framework; after a disable
        # there is a stale session to hide, so nothing the gateway cannot read exactly passes.
        if matcher.carries(name, value) or (disable_seen and not is_token(name)):
            drop.append(name)
    return drop


def without(cookie_lines: Iterable[str], drop: Iterable[str]) -> str | None:
    """One Cookie line without the pairs whose parsed name is in `drop`; None when nothing is left.

    The pairs kept are passed exactly as the browser sent them: the upstream parses the same
    bytes the gateway checked, not a re-serialisation of them.
    """
    dropped = set(drop)
    kept = [raw for name, _, raw in _segments(cookie_lines) if name not in dropped]
    return "; ".join(kept) if kept else None


def settable(name: str) -> bool:
    """True when a Set-Cookie line can name `name`, so the browser's cookie can be deleted."""
    if not name or name != name.strip(" \t") or any(c in name for c in ";="):
        return False
    # RFC 6265bis 5.6: browsers drop a Set-Cookie whose name holds a CTL other than HTAB.
    if any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in name):
        return False
    try:
        name.encode("utf-8")  # undecodable bytes arrive as surrogates and cannot be sent back
    except UnicodeEncodeError:
        return False
    return True


def expiry_lines(name: str, paths: Sequence[str], domains: Sequence[str]) -> list[str]:
    """Set-Cookie values deleting `name` (the raw name the browser holds) for each Path and Domain.

    Empty when no Set-Cookie can name it; such a cookie is only ever withheld.
    """
    if not settable(name):
        return []
    # Browsers match the prefixes case-insensitively (RFC 6265bis 4.1.3).
    prefix = name[:9].lower()
    secure = prefix.startswith(("__secure-", "__host-"))
    if prefix.startswith("__host-"):
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
