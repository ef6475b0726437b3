"""RequestFacts -> the route that serves them, or a refusal: the canonical target and host."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.config import Config, Route
from gateway.policy import routing
from gateway.policy.facts import RequestFacts
from gateway.wire import hosts
from gateway.wire.paths import PathRejected, Target, canonicalize


class Refused(Exception):
    """The request is answered by the gateway with `status`; nothing is forwarded."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Classified:
    target: Target
    host: str  # canonical, what routing compared
    host_header: str  # as it will be sent upstream
    route: Route


def _check_framing(facts: RequestFacts) -> None:
    """Proxy-only: facts a proxy in front has already dealt with and never transmits."""
    version = facts.http_version
    if version is not None and version not in ((1, 0), (1, 1)):
        # HTTP/0.9 has no headers to route on; "HTTP/2.0" in an HTTP/1 request line is a lie.
        raise Refused(505, f"HTTP/{version[0]}.{version[1]} is not served")
    codings = facts.transfer_codings
    if codings and codings != ("chunked",):
        # SECURITY: only plain chunked framing is forwarded; any other coding is a classic
        # request-smuggling shape (CL.TE / TE.TE desync between us and the upstream).
        raise Refused(501 if codings[-1] == "chunked" else 400, "unsupported Transfer-Encoding")
    if codings and version == (1, 0):
        raise Refused(400, "chunked framing on HTTP/1.0")


def reserved_segments(config: Config) -> tuple[str, ...]:
    return tuple(s.lower() for s in config.admin_prefix.strip("/").split("/"))


def is_reserved(target: Target, config: Config) -> bool:
    """True for any spelling of a path under the reserved prefix (case, escapes, dots)."""
    prefix = reserved_segments(config)
    return target.segments[: len(prefix)] == prefix


def classify(facts: RequestFacts, config: Config) -> Classified:
    """The route for these facts; Refused for anything the gateway answers itself."""
    _check_framing(facts)
    method = facts.method
    if method == "CONNECT":
        raise Refused(405, "CONNECT is not served")
    if method == "TRACE":
        # TRACE would echo customer cookies to scripts (cross-site tracing).
        raise Refused(405, "TRACE is not served")
    try:
        target = canonicalize(facts.target, escaped_slashes=config.proxy.escaped_slashes)
    except PathRejected as exc:
        raise Refused(exc.status, exc.reason) from None
    if is_reserved(target, config):
        # SECURITY: the reserved prefix is recognised on the canonical path, so no spelling of
        # it (case, escapes, absolute form) ever reaches the upstream.
        raise Refused(404, "reserved path")
    host_lines = facts.host_lines
    if len(host_lines) > 1:
        raise Refused(400, "more than one Host header")
    if target.authority is not None:
        # RFC 9112 3.2.2: the absolute-form authority wins; it is also what is sent upstream.
        # SECURITY: a Host that names another site is refused rather than silently overridden,
        # so no component behind us can be led to route on the other one.
        if host_lines and hosts.canonical_host(host_lines[0]) != hosts.canonical_host(
            target.authority
        ):
            raise Refused(400, "absolute-form authority and Host disagree")
        host_header = target.authority
    elif host_lines:
        host_header = host_lines[0]
    elif facts.http_version is None or facts.http_version >= (1, 1):
        raise Refused(400, "missing Host header")
    else:
        host_header = ""
    host = hosts.canonical_host(host_header) if host_lines or target.authority else ""
    if host is None:
        raise Refused(400, "invalid Host header")
    if config.server_names and not any(hosts.matches(p, host) for p in config.server_names):
        raise Refused(421, f"host {host!r} is not served here")
    route = routing.match(config.routes, target.segments, host, method)
    if route is None:
        raise Refused(404, "no route matches")
    return Classified(target=target, host=host, host_header=host_header, route=route)
