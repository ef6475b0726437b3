"""The config's frozen records, and the YAML keys each one accepts.

The records are the schema: a section's allowed keys are its dataclass fields (`yaml_keys`),
so adding a key is one field here, one parse line in the loader, and one README row (a test
holds the README's table against `yaml_keys`). A field whose value the loader computes rather
than reads has `metadata=DERIVED`; a field read from other keys names them with `keys()`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from gateway.config.yamlnodes import ConfigIssue
from gateway.wire.values import mask_url, safe_repr

UNAVAILABLE_MESSAGE = "Our Customer Portal is currently unavailable. Please check back later."

# The proxies forward-auth knows the header families of (gateway/policy/forward_auth.py).
Proxy = Literal["nginx", "traefik", "caddy", "envoy"]
PROXIES: tuple[Proxy, ...] = ("nginx", "traefik", "caddy", "envoy")

# `listen_host` for a bare port (`listen: 8080`): every interface, IPv4 and IPv6, as
# asyncio's create_server reads an empty host (one socket per address family).
EVERY_INTERFACE = ""
ADMIN_LISTEN = ("127.0.0.1", 8082)

Portal = Literal["customer", "office", "public"]
PORTALS: tuple[Portal, ...] = ("customer", "office", "public")

_KEYS = "gateway.config.keys"


def keys(*names: str) -> dict[str, tuple[str, ...]]:
    """Field metadata: read from these YAML keys (an alias such as `session_key_env`, or
    `listen` for both halves of an address); none for a field the loader computes."""
    return {_KEYS: names}


DERIVED = keys()  # computed by the loader: no YAML key of its own


def yaml_keys(record: type[Any]) -> tuple[str, ...]:
    """The keys a section accepts, in field order: the record's fields, renamed or left out
    as their metadata says."""
    out: list[str] = []
    for item in dataclasses.fields(record):
        for name in item.metadata.get(_KEYS, (item.name,)):
            if name not in out:
                out.append(name)
    return tuple(out)


@dataclass(frozen=True, repr=False)
class Upstream:
    """A named origin the gateway forwards to (scheme, host and port; no path)."""

    name: str
    url: str  # may carry user:password for the upstream: masked in repr

    def __repr__(self) -> str:
        return safe_repr(self, url=mask_url)


@dataclass(frozen=True)
class Route:
    """One entry of `routes:`; first match wins."""

    name: str
    paths: tuple[str, ...]
    upstream: str
    portal: Portal
    hosts: tuple[str, ...] = ()
    methods: frozenset[str] | None = None
    # The body limit on this route; None: `proxy.client_max_size`.
    client_max_size: int | None = None
    # Decoded segments of each path, computed once so matching never re-parses config.
    segments: tuple[tuple[str, ...], ...] = field(metadata=DERIVED, default=())


@dataclass(frozen=True, repr=False)
class SettingsConfig:
    """Where staff's "Enable Customer Portal" lives and how it is polled.

    The keys here are common to every store. The rest of `settings:` (`field`, `query`,
    `key`, ...) belongs to the store the `source` scheme names: the config layer keeps those
    keys as they were written in `options`, with their lines, and the settings registry (which
    sits above config) declares, checks and reads them (gateway/settings/__init__.py).

    `source` may hold a database or Redis password: `repr` (and so every log line or error
    that shows this record) masks it.
    """

    source: str
    ttl: float = 2.0
    timeout: float = 1.5
    on_error: Literal["last-known", "enabled", "disabled"] = "last-known"
    cold_start: Literal["disabled", "enabled"] = "disabled"
    max_stale: float | None = None
    state_file: str | None = None
    # The operators' control file (the timed override, the preview generation); the loader
    # fills in `<directory of the config file>/portal-gateway-control.json`. None: not read.
    override_file: str | None = None
    max_override: float = 24 * 3600.0  # the longest `override ... --for` and preview link
    options: Mapping[str, object] = field(metadata=DERIVED, default_factory=dict)
    # Where each key was written, for the registry's located errors: an option's name, plus
    # SECTION (the first key of the mapping), HEADER (the `settings:` line) and "source".
    lines: Mapping[str, int] = field(
        metadata=DERIVED, default_factory=dict, compare=False, repr=False
    )

    SECTION = "(section)"
    HEADER = "(header)"

    def line(self, key: str) -> int:
        return self.lines.get(key, self.lines.get(self.SECTION, 1))

    def __repr__(self) -> str:
        return safe_repr(self, source=mask_url)


Mode = Literal["enforce", "shadow"]


@dataclass(frozen=True)
class SelfCheckTarget:
    """One probe of `customer_portal.self_check`: the origin-form target and the Host sent.

    Written as a URL, its authority is the Host; written as a path, the Host is the first plain
    `server_names` entry, else `localhost`.
    """

    target: str  # origin form: /path?query
    host: str


@dataclass(frozen=True)
class SelfCheckConfig:
    """`customer_portal.self_check`: a customer and an office target, probed after each flip
    through the gateway's own public listener (gateway/edge/selfcheck.py)."""

    customer: SelfCheckTarget
    office: SelfCheckTarget


@dataclass(frozen=True)
class Window:
    """One entry of `customer_portal.schedule`: the portal is off from `starts` until `ends`.

    Times are epoch seconds; `offset` is the UTC offset (seconds east) `to` was written in,
    so the page can say when the portal is back in the config's own time zone.
    """

    starts: float = field(metadata=keys("from"))
    ends: float = field(metadata=keys("to"))
    message: str | None = None
    offset: int = field(metadata=DERIVED, default=0)
    line: int = field(metadata=DERIVED, default=0, compare=False)

    def covers(self, now: float) -> bool:
        return self.starts <= now < self.ends


@dataclass(frozen=True)
class CustomerPortalConfig:
    """What customers see and which of their cookies are sessions."""

    session_cookies: tuple[str, ...] = ("portal_session",)
    # Used by staff and customers alike: never deleted in the browser, only withheld from
    # customer routes while disabled or stale, so staff stay logged in to the Office Portal.
    shared_session_cookies: tuple[str, ...] = ()
    cookie_paths: tuple[str, ...] = ("/",)
    cookie_domains: tuple[str, ...] = ()
    # None: the page packaged with the gateway (gateway/static/unavailable.html).
    unavailable_page: str | None = None
    unavailable_html: str = field(metadata=DERIVED, default="", repr=False)
    # Language tag (lower case) -> its sentence; its page is `unavailable.<tag>.html` beside
    # `unavailable_page`, chosen by Accept-Language. English (the sentence above) is the default.
    sentences: Mapping[str, str] = field(default_factory=dict)
    localised_html: Mapping[str, str] = field(metadata=DERIVED, default_factory=dict, repr=False)
    retry_after: int = 120
    # Staff networks: clients whose real address is in one pass customer routes while disabled.
    allow_while_disabled: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    # `shadow`: nothing is refused for the portal's sake; what enforcing would have refused
    # is counted and logged as `would_block` (gateway/policy/shadow.py).
    mode: Mode = "enforce"
    self_check: SelfCheckConfig | None = None
    # Windows in which the portal is off whatever the store says; sorted, never overlapping.
    schedule: tuple[Window, ...] = ()
    stamp_cookie: str = "portal_gateway_stamp"
    session_key: bytes | None = field(
        default=None, repr=False, metadata=keys("session_key", "session_key_env")
    )


@dataclass(frozen=True)
class ProxyConfig:
    """Forwarding knobs, named after their nginx counterparts where one exists."""

    client_max_size: int = 10 * 1024 * 1024  # client_max_body_size
    connect_timeout: float = 5.0  # proxy_connect_timeout
    read_timeout: float = 60.0  # proxy_read_timeout
    header_timeout: float = 30.0  # client_header_timeout
    drain_delay: float = 0.0  # on SIGTERM: readiness 503, still accepting, for this long
    drain_timeout: float = 30.0  # then in-flight requests get this long to finish
    keepalive_timeout: float = 60.0  # upstream keepalive_timeout
    pool_size: int = 1000
    # Client connections, every listener together; None: what the open-files limit allows
    # after a reserve and the pool (gateway/edge/limits.py).
    max_connections: int | None = None
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    escaped_slashes: Literal["reject", "keep"] = "reject"
    via: str = "portal-gateway"
    server_header: str | None = None
    emit_forwarded: bool = False
    websocket_max_message: int = 4 * 1024 * 1024
    max_field_size: int = 16384  # upstream response header line limit


@dataclass(frozen=True)
class ForwardAuthConfig:
    """`/_gateway/decision`: which proxy in front asks, so only its header family is read."""

    proxy: Proxy | None = None


@dataclass(frozen=True)
class Config:
    """A whole, validated config file."""

    file: str = field(metadata=DERIVED)
    listen_host: str = field(metadata=keys("listen"))
    listen_port: int = field(metadata=keys("listen"))
    upstreams: dict[str, Upstream]
    settings: SettingsConfig
    routes: tuple[Route, ...]
    customer_portal: CustomerPortalConfig
    proxy: ProxyConfig = ProxyConfig()
    admin_prefix: str = "/_gateway"
    server_names: tuple[str, ...] = ()
    # The admin listener: every reserved endpoint, and nothing else. The public listener answers
    # only healthz and readyz unless `admin_public`. None is `admin_listen: none` (no listener).
    admin_listen: tuple[str, int] | None = ADMIN_LISTEN
    admin_public: bool = False
    forward_auth: ForwardAuthConfig = ForwardAuthConfig()
    # The access log's form; None: text when stderr is a terminal, JSON otherwise.
    log_format: Literal["json", "text"] | None = None
    # Log each target's query string too (it may hold tokens and personal data).
    log_query: bool = False
    # Valid, but costly: `check` prints these and start-up logs them (`FILE:LINE: key: warning: ...`).
    warnings: tuple[ConfigIssue, ...] = field(
        metadata=DERIVED, default=(), compare=False, repr=False
    )
    # sha256 of the config text this was parsed from: `/_gateway/state` shows it, so ops can
    # tell which file each replica runs (after a SIGHUP too).
    digest: str = field(metadata=DERIVED, default="", compare=False, repr=False)


# The record behind each top-level section with keys of its own.
SECTIONS: dict[str, type[Any]] = {
    "settings": SettingsConfig,
    "routes[]": Route,
    "customer_portal": CustomerPortalConfig,
    "customer_portal.self_check": SelfCheckConfig,
    "proxy": ProxyConfig,
    "forward_auth": ForwardAuthConfig,
}
