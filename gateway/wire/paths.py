"""One canonical form of a request target, computed once, used for routing AND forwarding.

aiohttp exposes several "paths" that disagree (`raw_path`, `path`, `url.path`): the decoded ones
fold `%2F` into `/` and resolve nothing consistently. The gateway never routes on one string and
forwards another. It forwards the target exactly as the client sent it, and routes on the
segments of that same target, percent-decoded once. That is only sound while decoding cannot
change the shape of the path, so every target whose meaning would depend on how the upstream
decodes or normalizes it is rejected here with 400 (Envoy's `REJECT_REQUEST` model) instead of
being re-interpreted.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

MAX_TARGET = 8192

# RFC 3986 pchar without ';' (path parameters are rejected, see below) and without '%'
# (escapes are checked separately).
_PCHAR = re.compile(r"^[A-Za-z0-9\-._~!$&'()*+,=:@/%]*$")
_QUERY = re.compile(r"^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%\[\]{}|^`\"<>\\]*$")
_CONTROL = re.compile(r"[\x00-\x20\x7f]")  # a control character or a space
_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_ABSOLUTE = re.compile(r"^(https?)://([^/?#]*)(.*)$", re.IGNORECASE)


class PathRejected(ValueError):
    """The target is ambiguous or malformed; `status` is what the client gets."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Target:
    """A request target in its one canonical form."""

    path: str  # exactly as sent, origin-form
    query: str | None  # exactly as sent, without '?'; None when there was no '?'
    segments: tuple[str, ...]  # decoded, lower-cased: what routing compares
    authority: str | None = None  # from an absolute-form request line

    @property
    def forward(self) -> str:
        """The origin-form target sent upstream: the client's own bytes."""
        return self.path if self.query is None else f"{self.path}?{self.query}"


def _decode_segment(segment: str, escaped_slashes: str) -> list[str]:
    """Percent-decode one raw segment; reject escapes that could change the path's shape."""
    if "%" not in segment:
        return [segment]
    raw = bytearray()
    i = 0
    while i < len(segment):
        ch = segment[i]
        if ch != "%":
            raw += ch.encode()
            i += 1
            continue
        byte = int(segment[i + 1 : i + 3], 16)
        # SECURITY: each of these decodes into a character that changes how a path is split,
        # resolved or re-parsed by some upstream; accepting any of them would let the gateway
        # and the upstream disagree about which route a request is for.
        if byte in (0x2F, 0x5C) and escaped_slashes == "reject":
            raise PathRejected("encoded slash or backslash in path")
        if byte < 0x20 or byte == 0x7F:
            raise PathRejected("encoded control character in path")
        if byte in (0x23, 0x3F):
            raise PathRejected("encoded '#' or '?' in path")
        if byte == 0x3B:
            raise PathRejected("encoded ';' in path")
        if byte == 0x25 and re.match(r"[0-9A-Fa-f]{2}", segment[i + 3 : i + 5]):
            raise PathRejected("double percent-encoding in path")
        raw.append(byte)
        i += 3
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PathRejected("invalid or overlong UTF-8 in path") from None
    # With escaped_slashes: keep, route on the shape a decoding upstream sees.
    return re.split(r"[/\\]", text)


def _segments(path: str, escaped_slashes: str) -> tuple[str, ...]:
    _check_path(path)
    # SECURITY: a fast path giving the same answer as `_walk_segments` (a property test
    # compares them). Once `_check_path` passed, the path is ASCII (NFKC leaves ASCII as it
    # is) without ';' or '\\'; with no escape there is nothing to decode, with no "//" no
    # empty inner segment, with no "/." no dot segment. Anything else takes the walk.
    if "%" not in path and "//" not in path and "/." not in path:
        return tuple(path[1:].lower().split("/"))
    return _walk_segments(path, escaped_slashes)


def _check_path(path: str) -> None:
    """The checks on the whole path, before any segment is looked at."""
    if len(path) > MAX_TARGET:
        raise PathRejected("request target too long", status=414)
    if not path.startswith("/"):
        raise PathRejected("request target must start with '/'")
    if ";" in path:
        # SECURITY: servlet containers strip ";params" (/portal;x/enroll -> /portal/enroll),
        # others keep them; no one routing decision is right for both, so refuse.
        raise PathRejected("path parameters (';') are not accepted")
    if not _PCHAR.match(path):
        raise PathRejected("invalid character in path (only RFC 3986 characters are accepted)")
    if _ESCAPE.search(path):
        raise PathRejected("malformed percent-escape in path")


def _walk_segments(path: str, escaped_slashes: str) -> tuple[str, ...]:
    """Each segment decoded and checked: the general case (`_check_path` passed)."""
    raw_segments = path[1:].split("/")
    out: list[str] = []
    for index, raw in enumerate(raw_segments):
        last = index == len(raw_segments) - 1
        if raw == "" and not last:
            # SECURITY: //admin is /admin to many upstreams and an empty first segment here.
            raise PathRejected("empty path segment (repeated '/')")
        for piece in _decode_segment(raw, escaped_slashes):
            if piece in (".", ".."):
                raise PathRejected("dot segment in path")
            if piece == "" and raw != "":
                raise PathRejected("empty path segment after decoding")
            if unicodedata.normalize("NFKC", piece) != piece:
                # SECURITY: full-width and compatibility look-alikes (full-width "office") fold to ASCII in
                # upstreams that normalize Unicode.
                raise PathRejected("path is not in Unicode normal form (look-alike characters)")
            out.append(piece.lower())
    return tuple(out)


def canonicalize(
    raw_target: str, *, escaped_slashes: Literal["reject", "keep"] = "reject"
) -> Target:
    """The canonical form of a request target, or PathRejected.

    Origin-form (`/a?b`) and absolute-form (`http://host/a?b`, authority returned) are accepted;
    asterisk-form and authority-form are not requests for the portal.
    """
    if "#" in raw_target:
        raise PathRejected("fragment ('#') in request target")
    if _CONTROL.search(raw_target):
        raise PathRejected("control character or space in request target")
    authority = None
    m = _ABSOLUTE.match(raw_target)
    if m:
        authority = m.group(2)
        if not authority or "@" in authority:
            raise PathRejected("absolute-form target without a valid authority")
        raw_target = m.group(3) or "/"
        if raw_target.startswith("?"):
            raw_target = "/" + raw_target
    elif raw_target == "*":
        raise PathRejected("asterisk-form target ('*') is not served")
    elif not raw_target.startswith("/"):
        raise PathRejected("request target must be origin-form ('/path')")
    path, sep, query = raw_target.partition("?")
    if sep and not _QUERY.match(query):
        raise PathRejected("invalid character in query")
    return Target(
        path=path,
        query=query if sep else None,
        segments=_segments(path, escaped_slashes),
        authority=authority,
    )


def route_segments(path: str) -> tuple[str, ...]:
    """Segments of a configured route path (`/public` -> ("public",); `/` -> ())."""
    if "?" in path or "#" in path:
        raise PathRejected("a route path has no query or fragment")
    segments = _segments(path, "reject")
    return segments[:-1] if segments and segments[-1] == "" else segments
