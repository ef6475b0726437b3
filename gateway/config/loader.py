"""YAML config -> frozen dataclasses, validated once at start-up.

Every key the README documents is checked here; nothing is parsed at request time. Errors are
`FILE:LINE: dotted.key: message` and all of a file's errors are reported together.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar
from urllib.parse import urlsplit

from gateway.config.crosschecks import forgets_last_disable, listener_clash
from gateway.config.yamlnodes import (
    DURATION,
    SIZE,
    ConfigError,
    ConfigIssue,
    Errors,
    Node,
    Reader,
    as_bool,
    as_str,
    check_keys,
    choice,
    load_nodes,
    mapping,
    positive_duration,
    positive_int,
)
from gateway.wire import hosts as hostnames
from gateway.wire.paths import PathRejected, route_segments
from gateway.wire.values import mask_secrets, mask_url, parse_duration, parse_size, safe_repr

__all__ = [
    "UNAVAILABLE_MESSAGE",
    "Config",
    "ConfigError",
    "ConfigIssue",
    "CustomerPortalConfig",
    "ForwardAuthConfig",
    "ProxyConfig",
    "Route",
    "SettingsConfig",
    "Upstream",
    "load_config",
    "parse_config",
]

UNAVAILABLE_MESSAGE = "Our Customer Portal is currently unavailable. Please check back later."

# The proxies forward-auth knows the header families of (gateway/policy/forward_auth.py).
Proxy = Literal["nginx", "traefik", "caddy", "envoy"]
PROXIES: tuple[Proxy, ...] = ("nginx", "traefik", "caddy", "envoy")

Portal = Literal["customer", "office", "public"]
PORTALS: tuple[Portal, ...] = ("customer", "office", "public")
T = TypeVar("T")


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
    # Decoded segments of each path, computed once so matching never re-parses config.
    segments: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True, repr=False)
class SettingsConfig:
    """Where staff's "Enable Customer Portal" lives and how it is polled.

    `source` may hold a database or Redis password: `repr` (and so every log line or error
    that shows this record) masks it.
    """

    source: str
    field: str | None = None
    changed_at_field: str | None = None
    query: str | None = None
    key: str | None = None
    ttl: float = 2.0
    timeout: float = 1.5
    on_error: Literal["last-known", "enabled", "disabled"] = "last-known"
    cold_start: Literal["disabled", "enabled"] = "disabled"
    max_stale: float | None = None
    state_file: str | None = None

    def __repr__(self) -> str:
        return safe_repr(self, source=mask_url)


@dataclass(frozen=True)
class CustomerPortalConfig:
    """What customers see and which of their cookies are sessions."""

    session_cookies: tuple[str, ...] = ("portal_session",)
    # Used by staff and customers alike: never deleted in the browser, only withheld from
    # customer routes while disabled or stale, so staff stay logged in to the Office Portal.
    shared_session_cookies: tuple[str, ...] = ()
    cookie_paths: tuple[str, ...] = ("/",)
    cookie_domains: tuple[str, ...] = ()
    unavailable_page: str = "static/unavailable.html"
    unavailable_html: str = field(default="", repr=False)
    retry_after: int = 120
    stamp_cookie: str = "portal_gateway_stamp"
    session_key: bytes | None = field(default=None, repr=False)


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
    file: str
    listen_host: str
    listen_port: int
    upstreams: dict[str, Upstream]
    settings: SettingsConfig
    routes: tuple[Route, ...]
    customer_portal: CustomerPortalConfig
    proxy: ProxyConfig = ProxyConfig()
    admin_prefix: str = "/_gateway"
    server_names: tuple[str, ...] = ()
    # When set, the reserved endpoints answer only here, and this listener serves nothing else.
    admin_listen: tuple[str, int] | None = None
    forward_auth: ForwardAuthConfig = ForwardAuthConfig()
    # Valid, but costly: `check` prints these and start-up logs them (`FILE:LINE: key: warning: ...`).
    warnings: tuple[ConfigIssue, ...] = field(default=(), compare=False, repr=False)


TOP_KEYS = (
    "listen",
    "upstreams",
    "settings",
    "routes",
    "customer_portal",
    "proxy",
    "admin_prefix",
    "admin_listen",
    "server_names",
    "forward_auth",
)
FORWARD_AUTH_KEYS = ("proxy",)
SETTINGS_KEYS = (
    "source",
    "field",
    "changed_at_field",
    "query",
    "key",
    "ttl",
    "timeout",
    "on_error",
    "cold_start",
    "max_stale",
    "state_file",
)
ROUTE_KEYS = ("name", "paths", "hosts", "methods", "upstream", "portal")
PORTAL_KEYS = (
    "session_cookies",
    "shared_session_cookies",
    "cookie_paths",
    "cookie_domains",
    "unavailable_page",
    "retry_after",
    "stamp_cookie",
    "session_key",
    "session_key_env",
)
PROXY_KEYS = (
    "client_max_size",
    "connect_timeout",
    "read_timeout",
    "header_timeout",
    "drain_delay",
    "drain_timeout",
    "keepalive_timeout",
    "pool_size",
    "trusted_proxies",
    "escaped_slashes",
    "via",
    "server_header",
    "emit_forwarded",
    "websocket_max_message",
    "max_field_size",
)
# SECURITY: no test fake here: a `memory://` store never switches, so a kill switch configured
# with it would never disable the portal. Tests inject a source object (gateway.testing).
SOURCE_SCHEMES = ("http", "https", "file", "sqlite", "postgresql", "mysql", "redis")
_METHOD = re.compile(r"^[A-Z][A-Z0-9!#$%&'*+.^_`|~-]*$")
_TOKEN_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~*?\[\]-]+$")


def _parse_listen(
    root: Reader, key: str = "listen", default: str = "127.0.0.1:8080"
) -> tuple[str, int]:
    child = root.at(key)
    raw = default if child is None else child.value
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = f"127.0.0.1:{raw}"
    m = re.match(r"^(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]]*)):(\d{1,5})$", str(raw))
    if not m or not 0 <= int(m.group(3)) < 65536:
        root.errors.add(child, key, f"expected host:port (127.0.0.1:8080), got {raw!r}")
        return "127.0.0.1", 8080
    return (m.group(1) or m.group(2) or "0.0.0.0"), int(m.group(3))


def _parse_upstreams(root: Reader) -> dict[str, Upstream]:
    node = mapping(root.at("upstreams"), "upstreams", root.errors)
    if node is None:
        root.errors.add(
            root.at("upstreams") or root.node, "upstreams", "required: name -> base URL"
        )
        return {}
    out: dict[str, Upstream] = {}
    for name, child in node.items():
        key = f"upstreams.{name}"
        if not isinstance(child.value, str):
            root.errors.add(child, key, f"expected a URL (http://host:port), got {child.value!r}")
            continue
        try:
            parts = urlsplit(child.value)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:
            root.errors.add(child, key, f"invalid URL: {mask_secrets(str(exc), child.value)}")
            continue
        if parts.scheme not in ("http", "https") or not parts.hostname:
            root.errors.add(
                child, key, f"expected an http:// or https:// URL, got {mask_url(child.value)!r}"
            )
        elif parts.path not in ("", "/") or parts.query or parts.fragment:
            root.errors.add(
                child, key, "must be an origin (scheme://host:port); paths are forwarded unchanged"
            )
        else:
            out[name] = Upstream(name, f"{parts.scheme}://{parts.netloc}")
    return out


def _parse_settings(root: Reader) -> SettingsConfig:
    node = mapping(root.at("settings"), "settings", root.errors)
    if node is None:
        root.errors.add(root.at("settings") or root.node, "settings.source", "required")
        return SettingsConfig(source="")
    check_keys(node, SETTINGS_KEYS, "settings", root.errors)
    r = Reader(node, "settings", root.errors)
    required = r.require("source", as_str, "a URL")
    source = required or ""
    scheme = source.split(":", 1)[0].lower() if ":" in source else ""
    if required is not None and scheme not in SOURCE_SCHEMES:
        r.errors.add(
            r.at("source"),
            "settings.source",
            f"unsupported scheme {scheme!r}; expected one of {', '.join(SOURCE_SCHEMES)}",
        )
    base = scheme.split("+", 1)[0]
    fld = r.get("field", as_str, None, "a dotted field name")
    query = r.get("query", as_str, None, "an SQL query")
    key = r.get("key", as_str, None, "a Redis key")
    if base in ("http", "https", "file") and fld is None:
        r.errors.add(node, "settings.field", f"required for {base}:// sources (e.g. enabled)")
    if base in ("sqlite", "postgresql", "mysql") and query is None:
        r.errors.add(node, "settings.query", f"required for {base}:// sources")
    if base == "redis" and key is None:
        r.errors.add(node, "settings.key", "required for redis:// sources")
    for name, wanted in (("query", ("sqlite", "postgresql", "mysql")), ("key", ("redis",))):
        if r.at(name) is not None and base not in wanted:
            r.errors.add(r.at(name), f"settings.{name}", f"only used by {'/'.join(wanted)} sources")
    ttl = r.get("ttl", positive_duration, 2.0, DURATION)
    timeout = r.get("timeout", positive_duration, min(1.5, ttl), DURATION)
    max_stale = r.get("max_stale", positive_duration, None, DURATION)
    cfg = SettingsConfig(
        source=source,
        field=fld,
        changed_at_field=r.get("changed_at_field", as_str, None, "a dotted field name"),
        query=query,
        key=key,
        ttl=ttl,
        timeout=timeout,
        on_error=r.get(
            "on_error",
            choice("last-known", "enabled", "disabled"),
            "last-known",
            "last-known | enabled | disabled",
        ),
        cold_start=r.get(
            "cold_start", choice("disabled", "enabled"), "disabled", "disabled | enabled"
        ),
        max_stale=max_stale,
        state_file=r.get("state_file", as_str, None, "a file path"),
    )
    forgets = forgets_last_disable(cfg)
    if forgets is not None:
        line = root.node.key_lines.get("settings", node.line)
        r.errors.warn(Node(None, line), "settings", forgets)
    return cfg


def _parse_route(
    item: Node, index: int, upstreams: dict[str, Upstream], errors: Errors
) -> Route | None:
    path = f"routes[{index}]"
    if not isinstance(item.value, dict):
        errors.add(item, path, f"expected a mapping, got {item.value!r}")
        return None
    check_keys(item, ROUTE_KEYS, path, errors)
    r = Reader(item, path, errors)
    name = r.get("name", as_str, f"route{index}", "a name")
    path = f"routes[{index}]"
    upstream = r.require("upstream", as_str, "an upstream name")
    if upstream is not None and upstreams and upstream not in upstreams:
        import difflib

        close = difflib.get_close_matches(upstream, list(upstreams), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        errors.add(r.at("upstream"), f"{path}.upstream", f"unknown upstream {upstream!r}{hint}")
    portal = r.require("portal", choice(*PORTALS), "customer | office | public")
    paths = r.strings("paths", ("/",)) or ()
    segments = []
    for i, (p, node) in enumerate(paths):
        try:
            segments.append(route_segments(p))
        except PathRejected as exc:
            errors.add(node, f"{path}.paths[{i}]", f"{exc.reason}, got {p!r}")
    hosts = r.strings("hosts", ()) or ()
    for i, (h, node) in enumerate(hosts):
        if not hostnames.valid_pattern(h):
            errors.add(node, f"{path}.hosts[{i}]", f"expected a host name or *.domain, got {h!r}")
    methods_raw = r.strings("methods", ()) or ()
    methods = []
    for i, (m, node) in enumerate(methods_raw):
        if not _METHOD.match(m):
            errors.add(node, f"{path}.methods[{i}]", f"expected an upper-case method, got {m!r}")
        methods.append(m)
    if upstream is None or portal is None:
        return None
    return Route(
        name=name,
        paths=tuple(p for p, _ in paths),
        upstream=upstream,
        portal=portal,
        hosts=tuple(hostnames.canonical_pattern(h) for h, _ in hosts),
        methods=frozenset(methods) if methods else None,
        segments=tuple(segments),
    )


def _parse_routes(
    root: Reader, upstreams: dict[str, Upstream], admin_prefix: str
) -> tuple[Route, ...]:
    node = root.at("routes")
    if node is None or not isinstance(node.value, list) or not node.value:
        root.errors.add(node or root.node, "routes", "required: a non-empty list of routes")
        return ()
    routes = []
    seen: dict[str, int] = {}
    for i, item in enumerate(node.value):
        route = _parse_route(item, i, upstreams, root.errors)
        if route is None:
            continue
        if route.name in seen:
            root.errors.add(item, f"routes[{i}].name", f"duplicate route name {route.name!r}")
        seen[route.name] = i
        for p in route.paths:
            if p == admin_prefix or p.startswith(admin_prefix + "/"):
                root.errors.add(
                    item,
                    f"routes[{i}].paths",
                    f"{p!r} is reserved for the gateway ({admin_prefix})",
                )
        routes.append(route)
    return tuple(routes)


def _cookie_name(value: object) -> str:
    if not isinstance(value, str) or not _TOKEN_NAME.match(value):
        raise ValueError
    return value


def _load_page(page: str, config_file: str) -> tuple[Path | None, str]:
    candidates = [Path(page)]
    if not Path(page).is_absolute():
        candidates.append(Path(config_file).resolve().parent.parent / page)
    for candidate in candidates:
        if candidate.is_file():
            return candidate, candidate.read_text(encoding="utf-8")
    return None, ""


def _parse_customer_portal(root: Reader) -> CustomerPortalConfig:
    node = mapping(root.at("customer_portal"), "customer_portal", root.errors) or Node({}, 1)
    check_keys(node, PORTAL_KEYS, "customer_portal", root.errors)
    r = Reader(node, "customer_portal", root.errors)
    defaults = CustomerPortalConfig()
    cookies = r.strings("session_cookies", defaults.session_cookies) or ()
    shared = r.strings("shared_session_cookies", ()) or ()
    for field_name, names in (("session_cookies", cookies), ("shared_session_cookies", shared)):
        for i, (c, n) in enumerate(names):
            try:
                _cookie_name(c)
            except ValueError:
                r.errors.add(
                    n,
                    f"customer_portal.{field_name}[{i}]",
                    f"expected a cookie name or pattern, got {c!r}",
                )
    paths = r.strings("cookie_paths", defaults.cookie_paths) or ()
    for i, (p, n) in enumerate(paths):
        if not p.startswith("/") or any(ch in p for ch in ";, \t"):
            r.errors.add(
                n, f"customer_portal.cookie_paths[{i}]", f"expected a cookie path (/), got {p!r}"
            )
    domains = r.strings("cookie_domains", ()) or ()
    for i, (d, n) in enumerate(domains):
        if not hostnames.valid_name(d.lstrip(".")):
            r.errors.add(n, f"customer_portal.cookie_domains[{i}]", f"expected a domain, got {d!r}")
    page = r.get("unavailable_page", as_str, defaults.unavailable_page, "a file path")
    found, html = _load_page(page, root.errors.file)
    page_node = r.at("unavailable_page") or node
    if found is None:
        r.errors.add(page_node, "customer_portal.unavailable_page", f"file not found: {page}")
    elif UNAVAILABLE_MESSAGE not in html:
        r.errors.add(
            page_node,
            "customer_portal.unavailable_page",
            f"{page} does not contain the required sentence {UNAVAILABLE_MESSAGE!r}",
        )
    key_node = r.at("session_key")
    key_text: str | None = None
    if key_node is not None and key_node.value is not None:
        if isinstance(key_node.value, str):
            key_text = key_node.value
        else:
            # SECURITY: Reader.get would quote the value; a secret never appears in an error.
            r.errors.add(
                key_node,
                "customer_portal.session_key",
                "expected a secret string (the value is not shown)",
            )
    env_name = r.get(
        "session_key_env", as_str, "PORTAL_GATEWAY_SESSION_KEY", "an environment variable name"
    )
    if key_text is None:
        key_text = os.environ.get(env_name)
    key: bytes | None = None
    if key_text is not None:
        key = key_text.encode()
        if len(key) < 32:
            r.errors.add(
                r.at("session_key") or r.at("session_key_env") or node,
                "customer_portal.session_key",
                "must be at least 32 characters (the value is not shown)",
            )
    return CustomerPortalConfig(
        session_cookies=tuple(c for c, _ in cookies),
        shared_session_cookies=tuple(c for c, _ in shared),
        cookie_paths=tuple(p for p, _ in paths),
        cookie_domains=tuple(d for d, _ in domains),
        unavailable_page=str(found or page),
        unavailable_html=html,
        retry_after=r.get("retry_after", positive_int, defaults.retry_after, "whole seconds"),
        stamp_cookie=r.get("stamp_cookie", _cookie_name, defaults.stamp_cookie, "a cookie name"),
        session_key=key,
    )


def _cidr(value: object) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(as_str(value), strict=False)


def _parse_proxy(root: Reader) -> ProxyConfig:
    node = mapping(root.at("proxy"), "proxy", root.errors) or Node({}, 1)
    check_keys(node, PROXY_KEYS, "proxy", root.errors)
    r = Reader(node, "proxy", root.errors)
    d = ProxyConfig()
    trusted = []
    for i, (cidr, n) in enumerate(r.strings("trusted_proxies", ()) or ()):
        try:
            trusted.append(_cidr(cidr))
        except ValueError:
            r.errors.add(n, f"proxy.trusted_proxies[{i}]", f"expected an IP or CIDR, got {cidr!r}")
    via = r.get("via", as_str, d.via, "a pseudonym token")
    if not re.match(r"^[A-Za-z0-9._-]+$", via):
        r.errors.add(
            r.at("via"), "proxy.via", f"expected a token (letters, digits, . _ -), got {via!r}"
        )
    return ProxyConfig(
        client_max_size=r.get("client_max_size", parse_size, d.client_max_size, SIZE),
        connect_timeout=r.get("connect_timeout", positive_duration, d.connect_timeout, DURATION),
        read_timeout=r.get("read_timeout", positive_duration, d.read_timeout, DURATION),
        header_timeout=r.get("header_timeout", positive_duration, d.header_timeout, DURATION),
        drain_delay=r.get("drain_delay", parse_duration, d.drain_delay, DURATION),
        drain_timeout=r.get("drain_timeout", positive_duration, d.drain_timeout, DURATION),
        keepalive_timeout=r.get(
            "keepalive_timeout", positive_duration, d.keepalive_timeout, DURATION
        ),
        pool_size=r.get("pool_size", positive_int, d.pool_size, "a whole number"),
        trusted_proxies=tuple(trusted),
        escaped_slashes=r.get(
            "escaped_slashes", choice("reject", "keep"), d.escaped_slashes, "reject | keep"
        ),
        via=via,
        server_header=r.get("server_header", as_str, None, "a string"),
        emit_forwarded=r.get("emit_forwarded", as_bool, d.emit_forwarded, "true or false"),
        websocket_max_message=r.get(
            "websocket_max_message", parse_size, d.websocket_max_message, SIZE
        ),
        max_field_size=r.get("max_field_size", parse_size, d.max_field_size, SIZE),
    )


# config/nginx-forward-auth.conf gives nginx 32k for the auth answer's headers, page included.
NGINX_PAGE_LIMIT = 24 * 1024


def _parse_forward_auth(
    root: Reader, proxy: ProxyConfig, portal: CustomerPortalConfig
) -> ForwardAuthConfig:
    node = mapping(root.at("forward_auth"), "forward_auth", root.errors)
    if node is None:
        return ForwardAuthConfig()
    check_keys(node, FORWARD_AUTH_KEYS, "forward_auth", root.errors)
    r = Reader(node, "forward_auth", root.errors)
    child = r.at("proxy")
    if child is None or child.value is None:
        return ForwardAuthConfig()
    if child.value not in PROXIES:
        import difflib

        close = difflib.get_close_matches(str(child.value), PROXIES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        r.errors.add(
            child,
            "forward_auth.proxy",
            f"expected {' | '.join(PROXIES)}, got {child.value!r}{hint}",
        )
        return ForwardAuthConfig()
    if not proxy.trusted_proxies:
        r.errors.warn(
            child,
            "forward_auth.proxy",
            "proxy.trusted_proxies is empty, so /_gateway/decision answers every request 403; "
            f"list the address {child.value} connects from",
        )
    size = len(portal.unavailable_html.encode())
    if child.value == "nginx" and size > NGINX_PAGE_LIMIT:
        section = root.at("customer_portal")
        page = section.value.get("unavailable_page") if section and section.value else None
        r.errors.warn(
            page or section or child,
            "customer_portal.unavailable_page",
            f"{size} bytes: behind nginx the page travels in a header of the decision, and "
            f"the example's proxy_buffer_size (32k) needs it under {NGINX_PAGE_LIMIT} bytes",
        )
    found: Proxy = child.value
    return ForwardAuthConfig(proxy=found)


def parse_config(text: str, file: str) -> Config:
    """Validate a whole config document; raises ConfigError listing every problem."""
    errors = Errors(file)
    root_node = load_nodes(text, file, errors)
    if root_node is None:
        errors.raise_if_any()
        raise AssertionError("unreachable")
    if not isinstance(root_node.value, dict):
        errors.add(root_node, "(root)", "expected a mapping of top-level keys")
        errors.raise_if_any()
    check_keys(root_node, TOP_KEYS, "", errors)
    root = Reader(root_node, "", errors)
    before = len(errors.issues)
    host, port = _parse_listen(root)
    admin_listen = None
    if root.at("admin_listen") is not None:
        admin_listen = _parse_listen(root, "admin_listen")
        clash = listener_clash((host, port), admin_listen)
        if clash is not None and len(errors.issues) == before:
            errors.add(root.at("admin_listen"), "admin_listen", clash)
    admin_prefix = root.get("admin_prefix", as_str, "/_gateway", "a path such as /_gateway")
    if not re.match(r"^/[A-Za-z0-9._~-]+$", admin_prefix):
        errors.add(
            root.at("admin_prefix"),
            "admin_prefix",
            f"expected one path segment like /_gateway, got {admin_prefix!r}",
        )
    upstreams = _parse_upstreams(root)
    settings = _parse_settings(root)
    routes = _parse_routes(root, upstreams, admin_prefix)
    portal = _parse_customer_portal(root)
    proxy = _parse_proxy(root)
    forward_auth = _parse_forward_auth(root, proxy, portal)
    server_names = []
    for i, (h, n) in enumerate(root.strings("server_names", ()) or ()):
        if not hostnames.valid_pattern(h):
            errors.add(n, f"server_names[{i}]", f"expected a host name or *.domain, got {h!r}")
        server_names.append(hostnames.canonical_pattern(h))
    errors.raise_if_any()
    return Config(
        file=file,
        listen_host=host,
        listen_port=port,
        upstreams=upstreams,
        settings=settings,
        routes=routes,
        customer_portal=portal,
        proxy=proxy,
        admin_prefix=admin_prefix,
        server_names=tuple(server_names),
        admin_listen=admin_listen,
        forward_auth=forward_auth,
        warnings=tuple(errors.warnings),
    )


def load_config(file: str | os.PathLike[str]) -> Config:
    name = os.fspath(file)
    try:
        text = Path(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigIssue(name, 1, "(file)", exc.strerror or str(exc))]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            [ConfigIssue(name, 1, "(file)", f"not UTF-8 text: {exc.reason}")]
        ) from exc
    return parse_config(text, name)
