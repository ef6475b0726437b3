"""YAML config text -> a frozen `Config`, validated once at start-up.

`parse_config` is pure: it reads no file and no environment variable. What it needs from
outside the text comes in as arguments: `resources` (the unavailable page and the
environment; `gateway.config.resources` has the real ones) and `sources` (the settings
registry, which judges the store's own options). Every key the README documents is checked
here; nothing is parsed at request time. Errors are `FILE:LINE: dotted.key: message`, and all
of a file's errors are reported together.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import re
from urllib.parse import urlsplit

from gateway.config import selfcheck
from gateway.config.crosschecks import listener_clash, show_address
from gateway.config.ports import Offline, Resources, SourceCatalog
from gateway.config.routes import parse_routes
from gateway.config.schema import (
    ADMIN_LISTEN,
    EVERY_INTERFACE,
    PROXIES,
    Config,
    CustomerPortalConfig,
    ForwardAuthConfig,
    Proxy,
    ProxyConfig,
    Upstream,
    yaml_keys,
)
from gateway.config.sections import parse_customer_portal, parse_proxy, parse_settings
from gateway.config.yamlnodes import (
    Errors,
    Reader,
    as_bool,
    as_str,
    check_keys,
    choice,
    load_nodes,
    mapping,
)
from gateway.wire import hosts as hostnames
from gateway.wire.values import mask_secrets, mask_url

__all__ = ["NGINX_PAGE_LIMIT", "parse_config"]


_ADDRESS = re.compile(r"^(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]]*)):([0-9]{1,5})$")


def _parse_listen(root: Reader, key: str, default: str, off: bool = False) -> tuple[str, int]:
    """`host:port`, `[v6]:port`, or a bare port (`8080`, `":8080"`, `"*:8080"`): every interface,
    IPv4 and IPv6 (EVERY_INTERFACE). With `off`, the message names `none` too (the caller
    reads it)."""
    child = root.at(key)
    raw = default if child is None else child.value
    text = str(raw) if not isinstance(raw, bool) else ""
    m = _ADDRESS.match(f":{text}" if text.isascii() and text.isdigit() else text)
    if not m or not 0 <= int(m.group(3)) < 65536:
        forms = f"host:port ({default}), a port (8080){', or none' if off else ''}"
        root.errors.add(child, key, f"expected {forms}, got {raw!r}")
        return "127.0.0.1", 8080
    host = m.group(1) or m.group(2)
    return (EVERY_INTERFACE if host in ("", "*") else host), int(m.group(3))


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


# config/nginx-forward-auth.conf gives nginx 32k for the auth answer's headers, page included.
NGINX_PAGE_LIMIT = 24 * 1024


def _parse_forward_auth(
    root: Reader, proxy: ProxyConfig, portal: CustomerPortalConfig
) -> ForwardAuthConfig:
    node = mapping(root.at("forward_auth"), "forward_auth", root.errors)
    if node is None:
        return ForwardAuthConfig()
    check_keys(node, yaml_keys(ForwardAuthConfig), "forward_auth", root.errors)
    r = Reader(node, "forward_auth", root.errors)
    child = r.at("proxy")
    if child is None or child.value is None:
        return ForwardAuthConfig()
    if child.value not in PROXIES:
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
    # The largest of the pages (a localised one may be the largest).
    size = max(
        len(page.encode()) for page in (portal.unavailable_html, *portal.localised_html.values())
    )
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


def _parse_admin(
    root: Reader, listen: tuple[str, int], before: int
) -> tuple[tuple[str, int] | None, bool, str]:
    errors = root.errors
    child = root.at("admin_listen")
    admin_listen: tuple[str, int] | None = None
    if not (child is not None and isinstance(child.value, str) and child.value.lower() == "none"):
        default = "{}:{}".format(*ADMIN_LISTEN)
        admin_listen = _parse_listen(root, "admin_listen", default, off=True)
        clash = listener_clash(listen, admin_listen)
        # A bad listen or admin_listen is reported alone, not as a clash too.
        if clash is not None and len(errors.issues) == before:
            if child is not None:
                errors.add(child, "admin_listen", clash)
            else:
                errors.add(
                    root.at("listen"),
                    "listen",
                    f"{show_address(*listen)} takes the admin listener's default address "
                    f"({default}); set admin_listen to another host:port, or to none",
                )
    admin_public = root.get("admin_public", as_bool, False, "true or false")
    if admin_public:
        # SECURITY: metrics and state tell anyone who can reach the public listener whether the
        # portal is off and why; decision stays 403 outside trusted_proxies, but is one more door.
        errors.warn(
            root.at("admin_public"),
            "admin_public",
            "metrics, state and decision also answer on the public listener, to anyone who "
            "reaches it; serve them on admin_listen only unless something in front filters "
            "the reserved prefix",
        )
    admin_prefix = root.get("admin_prefix", as_str, "/_gateway", "a path such as /_gateway")
    if not re.match(r"^/[A-Za-z0-9._~-]+$", admin_prefix):
        errors.add(
            root.at("admin_prefix"),
            "admin_prefix",
            f"expected one path segment like /_gateway, got {admin_prefix!r}",
        )
    return admin_listen, admin_public, admin_prefix


def parse_config(
    text: str,
    file: str,
    resources: Resources | None = None,
    sources: SourceCatalog | None = None,
) -> Config:
    """Validate a whole config document; raises ConfigError listing every problem.

    Without `resources` no page is read (`unavailable_html` stays empty) and no environment
    variable either; without `sources` the store's own options are kept unchecked.
    """
    resources = resources or Offline()
    errors = Errors(file)
    root_node = load_nodes(text, file, errors)
    if root_node is None:
        errors.raise_if_any()
        raise AssertionError("unreachable")
    if not isinstance(root_node.value, dict):
        errors.add(root_node, "(root)", "expected a mapping of top-level keys")
        errors.raise_if_any()
    check_keys(root_node, yaml_keys(Config), "", errors)
    root = Reader(root_node, "", errors)
    before = len(errors.issues)
    host, port = _parse_listen(root, "listen", "127.0.0.1:8080")
    admin_listen, admin_public, admin_prefix = _parse_admin(root, (host, port), before)
    upstreams = _parse_upstreams(root)
    settings = parse_settings(root, sources)
    routes = parse_routes(root, upstreams, admin_prefix)
    portal = parse_customer_portal(root, resources)
    written = selfcheck.parse_self_check(root)
    proxy = parse_proxy(root)
    forward_auth = _parse_forward_auth(root, proxy, portal)
    if forward_auth.proxy is not None and admin_listen is None and not admin_public:
        fa = root.at("forward_auth")
        errors.warn(
            fa.value.get("proxy") if fa is not None else None,
            "forward_auth.proxy",
            "admin_listen is none and admin_public is false, so /_gateway/decision is served "
            "nowhere; set admin_listen to the address the proxy asks",
        )
    server_names = []
    for i, (h, n) in enumerate(root.strings("server_names", ()) or ()):
        if not hostnames.valid_pattern(h):
            errors.add(n, f"server_names[{i}]", f"expected a host name or *.domain, got {h!r}")
        server_names.append(hostnames.canonical_pattern(h))
    checks = selfcheck.resolve(written, routes, server_names, admin_prefix, errors)
    portal = dataclasses.replace(portal, self_check=checks)
    log_format = root.get("log_format", choice("json", "text"), None, "json | text")
    log_query = root.get("log_query", as_bool, False, "true or false")
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
        admin_public=admin_public,
        forward_auth=forward_auth,
        log_format=log_format,
        log_query=log_query,
        warnings=tuple(errors.warnings),
        digest=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )
