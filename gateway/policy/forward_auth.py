"""What a forward-auth request says about the original request, read only as its proxy wrote it.

nginx `auth_request`, Traefik `forwardAuth`, Caddy `forward_auth` and Envoy `ext_authz` each ask
the gateway about a request they hold, and each describes it in its own header family. The
client's own headers travel in the same request (nginx, Traefik and Caddy pass them all), so a
header the named proxy does not overwrite is the client's word, not the proxy's. Pure: no aiohttp.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from gateway.config import Proxy
from gateway.wire.headers import IPNetwork, is_trusted

_METHOD = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


class ForwardAuthRefused(Exception):
    """The forward-auth request cannot be believed; answer `status`, log `reason`."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Family:
    """The headers one proxy writes; None where the original comes from the request itself."""

    method: str | None
    target: str | None
    host: str
    client: str
    client_is_list: bool  # X-Forwarded-For: the proxy appends; only its own (last) entry counts
    scheme: str


# The X-Forwarded-* family Traefik and Caddy both write.
X_FORWARDED = Family(
    "x-forwarded-method",
    "x-forwarded-uri",
    "x-forwarded-host",
    "x-forwarded-for",
    True,
    "x-forwarded-proto",
)

# SECURITY: each family lists only headers its proxy overwrites on every request (our example
# configs make sure of it), so nothing here is a value the client chose.
FAMILIES: dict[Proxy, Family] = {
    # https://nginx.org/en/docs/http/ngx_http_auth_request_module.html: the subrequest carries
    # only what `proxy_set_header` sets; config/nginx-forward-auth.conf sets all five.
    "nginx": Family(
        "x-original-method",
        "x-original-uri",
        "x-forwarded-host",
        "x-real-ip",
        False,
        "x-forwarded-proto",
    ),
    # https://doc.traefik.io/traefik/middlewares/http/forwardauth/ "Forward-Request Headers";
    # with trustForwardHeader: false (the default) Traefik sets each from the request itself.
    "traefik": X_FORWARDED,
    # https://caddyserver.com/docs/caddyfile/directives/forward_auth: `header_up` sets the
    # method and URI; config/Caddyfile.forward-auth sets host, client and scheme explicitly too.
    "caddy": X_FORWARDED,
    # Envoy's HTTP ext_authz sends the original method, `path_prefix` + the original path and the
    # original Host; X-Forwarded-For ends with the address Envoy saw (use_remote_address: true).
    "envoy": Family(None, None, "host", "x-forwarded-for", True, "x-forwarded-proto"),
}


@dataclass(frozen=True)
class Forwarded:
    """The original request as the trusted proxy described it."""

    proxy: Proxy
    method: str
    target: str  # request target as the client sent it (path?query, or absolute form)
    host: str  # Host as the client sent it; "" when it sent none
    client: str  # the client address the proxy saw; "" when the proxy did not say
    scheme: str  # "http" or "https"
    cookies: tuple[str, ...]  # every Cookie line, in order


Index = dict[str, list[str]]


@lru_cache(maxsize=64)
def _trusted_peer(peer: str, trusted: tuple[IPNetwork, ...]) -> bool:
    # The peer is the proxy in front: a few addresses, checked once per trusted_proxies value
    # (a SIGHUP that changes the list is a new key).
    return is_trusted(peer, trusted)


def _index(headers: Sequence[tuple[str, str]]) -> Index:
    # Every line by lowercased name, in order: one pass instead of one per header read.
    index: Index = {}
    for name, value in headers:
        index.setdefault(name.lower(), []).append(value)
    return index


def _one(headers: Index, name: str) -> str | None:
    found = headers.get(name, [])
    if len(found) > 1:
        # SECURITY: a proxy writes each of its headers once; a second line is someone else's.
        raise ForwardAuthRefused(400, f"forward-auth request with {len(found)} {name} headers")
    return found[0].strip() if found else None


def _required(headers: Index, name: str) -> str:
    value = _one(headers, name)
    if not value:
        raise ForwardAuthRefused(400, f"forward-auth request without {name}")
    return value


def _client(headers: Index, family: Family) -> str:
    raw = _one(headers, family.client)
    if raw is None:
        return ""
    entries = [a.strip() for a in raw.split(",")]
    if len(entries) > 1 and not family.client_is_list:
        raise ForwardAuthRefused(400, f"forward-auth request with a list in {family.client}")
    # The proxy appends the address it saw last; entries before it are the client's claims.
    try:
        return str(ipaddress.ip_address(entries[-1].strip("[]")))
    except ValueError:
        raise ForwardAuthRefused(
            400, f"forward-auth request with {family.client} {raw!r}: not an address"
        ) from None


def read_forwarded(
    proxy: Proxy | None,
    headers: Sequence[tuple[str, str]],
    path: str,
    peer: str,
    trusted: Sequence[IPNetwork],
    *,
    method: str = "GET",
    decision_path: str = "/_gateway/decision",
) -> Forwarded:
    """Read the original request from the forward-auth request `method path` with `headers`.

    `path` is the forward-auth request's own target (Envoy appends the original path to
    `decision_path`); `peer` its socket address. Raises ForwardAuthRefused (403 for a peer or
    config that cannot be trusted, 400 for a request its proxy would never send).
    """
    if proxy is None:
        raise ForwardAuthRefused(
            403, "forward_auth.proxy is not set: no forward-auth headers are trusted"
        )
    if not _trusted_peer(peer, tuple(trusted)):
        # SECURITY: anyone who can reach the admin listener could otherwise describe any request.
        raise ForwardAuthRefused(
            403,
            f"forward-auth request from {peer or 'an unknown peer'}, not in proxy.trusted_proxies",
        )
    family = FAMILIES[proxy]
    index = _index(headers)
    if family.target is None:
        rest = path[len(decision_path) :] if path.startswith(decision_path) else ""
        if not rest.startswith("/"):
            raise ForwardAuthRefused(
                400, f"ext_authz check {path!r} does not carry the original path"
            )
        original_method, target = method, rest
    else:
        assert family.method is not None
        original_method = _required(index, family.method)
        target = _required(index, family.target)
    if not _METHOD.match(original_method):
        raise ForwardAuthRefused(400, f"forward-auth request with method {original_method!r}")
    host = _one(index, family.host) or ""
    if "," in host:
        raise ForwardAuthRefused(400, f"forward-auth request with a list in {family.host}")
    scheme = (_one(index, family.scheme) or "http").lower()
    if scheme not in ("http", "https"):
        raise ForwardAuthRefused(400, f"forward-auth request with {family.scheme} {scheme!r}")
    return Forwarded(
        proxy=proxy,
        method=original_method,
        target=target,
        host=host,
        client=_client(index, family),
        scheme=scheme,
        cookies=tuple(index.get("cookie", ())),
    )
