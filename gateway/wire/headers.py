"""Header rewriting for both directions: pure functions over ordered (name, value) lists.

Headers are kept as ordered pairs, never as a dict, so duplicates (several Set-Cookie, Vary,
Link) keep their relative order. Names are compared in lower case.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Headers = list[tuple[str, str]]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# RFC 9110 7.6.1 plus the non-standard ones every proxy strips.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)

# Headers that some frameworks or proxies read to re-route, re-method or re-identify a request.
# SECURITY: from an untrusted client any of these could make the upstream serve a customer
# route for a request the gateway classified as office or public.
ROUTING_OVERRIDES = frozenset(
    {
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-forwarded-port",
        "x-forwarded-prefix",
        "x-forwarded-server",
        "x-forwarded-ssl",
        "x-forwarded-scheme",
        "x-forwarded-uri",
        "x-forwarded-method",
        "x-original-url",
        "x-original-uri",
        "x-original-host",
        "x-original-method",
        "x-rewrite-url",
        "x-http-method-override",
        "x-http-method",
        "x-method-override",
        "x-real-ip",
        "x-host",
        "x-client-ip",
        "true-client-ip",
        "x-cluster-client-ip",
        "front-end-https",
        "x-url-scheme",
    }
)

# Set by the gateway on every forwarded request; the client's copies never pass as they are.
GENERATED = frozenset(
    {
        "host",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-request-id",
        "via",
        "forwarded",
    }
)

# The client asks the gateway, not the upstream, to send 100 Continue.
REQUEST_ONLY_DROP = frozenset({"expect"})

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,200}$")


def connection_tokens(headers: Iterable[tuple[str, str]]) -> set[str]:
    """Every header name listed in any Connection line (all lines, even empty ones)."""
    tokens: set[str] = set()
    for name, value in headers:
        if name.lower() == "connection":
            tokens.update(t.strip().lower() for t in value.split(",") if t.strip())
    return tokens


def decode_raw(raw: Iterable[tuple[bytes, bytes]]) -> Headers:
    """Raw header pairs as text; ValueError when a value is not UTF-8 (it could not be re-sent as is)."""
    try:
        return [(k.decode("ascii"), v.decode("utf-8")) for k, v in raw]
    except UnicodeDecodeError as exc:
        raise ValueError("header is not valid UTF-8") from exc


def values(headers: Sequence[tuple[str, str]], name: str) -> list[str]:
    lname = name.lower()
    return [v for k, v in headers if k.lower() == lname]


def lines_of(headers: Iterable[tuple[str, str]], *names: str) -> dict[str, list[str]]:
    """`values` for several lower-case names in one pass, each header name lowered once."""
    found: dict[str, list[str]] = {name: [] for name in names}
    for key, value in headers:
        lines = found.get(key.lower())
        if lines is not None:
            lines.append(value)
    return found


def is_trusted(peer: str | None, trusted: Sequence[IPNetwork]) -> bool:
    if not peer or not trusted:
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in net for net in trusted)


def client_ip(peer: str, forwarded_for: Sequence[str], trusted: Sequence[IPNetwork]) -> str:
    """The rightmost address in peer + X-Forwarded-For that is not a trusted proxy."""
    if not is_trusted(peer, trusted):
        return peer
    chain = [a.strip() for line in forwarded_for for a in line.split(",") if a.strip()]
    for address in reversed(chain):
        if not is_trusted(address, trusted):
            return address
    return chain[0] if chain else peer


def request_id(headers: Sequence[tuple[str, str]], trusted_peer: bool) -> str:
    if trusted_peer:
        for value in values(headers, "x-request-id"):
            if _REQUEST_ID.match(value):
                return value
    return new_request_id()


class _RequestIds:
    """Request ids: a random prefix per process and a counter, 32 hex digits like a uuid4's.

    The id is not a secret, only unique: uuid4 cost an `os.urandom` syscall per request. The
    80-bit prefix is drawn again in every forked child (workers), so no two processes, and no
    two runs, share one; the 48-bit counter numbers a process's requests.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.prefix = os.urandom(10).hex()
        self.counter = itertools.count()

    def next(self) -> str:
        return f"{self.prefix}{next(self.counter) & 0xFFFFFFFFFFFF:012x}"


_IDS = _RequestIds()
os.register_at_fork(after_in_child=_IDS.reset)


def new_request_id() -> str:
    """A fresh request id, unique across processes and restarts."""
    return _IDS.next()


def _forwarded_for(address: str) -> str:
    if ":" in address:  # RFC 7239 6: IPv6 is bracketed and the value quoted.
        return f'"[{address}]"'
    return address


def via_has_loop(headers: Sequence[tuple[str, str]], pseudonym: str) -> bool:
    return via_lines_have_loop(values(headers, "via"), pseudonym)


def via_lines_have_loop(lines: Iterable[str], pseudonym: str) -> bool:
    """True when a hop in these Via lines is this gateway (`pseudonym`): a loop."""
    for line in lines:
        for hop in line.split(","):
            parts = hop.split()
            if len(parts) >= 2 and parts[1].lower() == pseudonym.lower():
                return True
    return False


@dataclass(frozen=True)
class ForwardContext:
    """What the gateway knows about the client connection, for the headers it generates."""

    peer: str
    trusted_peer: bool
    scheme: str
    host: str  # the Host to send upstream, as the client sent it
    http_version: str  # "1.1" or "1.0"
    via: str
    request_id: str
    emit_forwarded: bool = False


def request_headers(client: Sequence[tuple[str, str]], ctx: ForwardContext) -> Headers:
    """Headers to send upstream: end-to-end ones in order, then the gateway's own."""
    listed = connection_tokens(client)
    out: Headers = []
    for name, value in client:
        lname = name.lower()
        if lname in HOP_BY_HOP or lname in listed or lname in REQUEST_ONLY_DROP:
            continue
        if "_" in name:
            # SECURITY: CGI-style servers map X_Forwarded_For and X-Forwarded-For to one variable.
            continue
        if lname in GENERATED and lname != "via":
            continue
        if lname in ROUTING_OVERRIDES and not ctx.trusted_peer:
            continue
        out.append((name, value))
    # Client Via lines were kept (unless Connection named Via) so ours is appended after them.
    prior_xff = (
        values(client, "x-forwarded-for")
        if ctx.trusted_peer and "x-forwarded-for" not in listed
        else []
    )
    chain = [a.strip() for line in prior_xff for a in line.split(",") if a.strip()]
    out.append(("Host", ctx.host))
    out.append(("X-Forwarded-For", ", ".join([*chain, ctx.peer])))
    proto = ctx.scheme
    fwd_host = ctx.host
    if ctx.trusted_peer:
        proto = next(iter(values(client, "x-forwarded-proto")), proto)
        fwd_host = next(iter(values(client, "x-forwarded-host")), fwd_host)
    out.append(("X-Forwarded-Proto", proto))
    out.append(("X-Forwarded-Host", fwd_host))
    if ctx.emit_forwarded:
        prior = values(client, "forwarded") if ctx.trusted_peer else []
        mine = f'for={_forwarded_for(ctx.peer)};host="{ctx.host}";proto={ctx.scheme}'
        out.append(("Forwarded", ", ".join([*prior, mine])))
    out.append(("X-Request-ID", ctx.request_id))
    out.append(("Via", f"{ctx.http_version} {ctx.via}"))
    return out


def response_headers(upstream: Sequence[tuple[str, str]]) -> Headers:
    """Upstream headers minus hop-by-hop ones and those its Connection header lists."""
    listed = connection_tokens(upstream)
    dropped = HOP_BY_HOP | listed if listed else HOP_BY_HOP  # each name lowered once
    return [(k, v) for k, v in upstream if k.lower() not in dropped]
