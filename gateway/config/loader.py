"""YAML config text -> a frozen `Config`, validated once at start-up.

`parse_config` is pure: it reads no file and no environment variable. What it needs from
outside the text comes in as arguments: `resources` (the unavailable page and the
environment; `gateway.config.resources` has the real ones) and `sources` (the settings
registry, which judges the store's own options). Every key the README documents is checked
here; nothing is parsed at request time. Errors are `FILE:LINE: dotted.key: message`, and all
of a file's errors are reported together.
"""

from __future__ import annotations

import difflib
import re
from urllib.parse import urlsplit

from gateway.config.crosschecks import listener_clash
from gateway.config.routes import parse_routes
from gateway.config.schema import (
    PROXIES,
    Config,
    CustomerPortalConfig,
    ForwardAuthConfig,
    Offline,
    Proxy,
    ProxyConfig,
    Resources,
    SourceCatalog,
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


def _parse_admin(
    root: Reader, listen: tuple[str, int], before: int
) -> tuple[tuple[str, int] | None, str]:
    errors = root.errors
    admin_listen = None
    if root.at("admin_listen") is not None:
        admin_listen = _parse_listen(root, "admin_listen")
        clash = listener_clash(listen, admin_listen)
        # A bad listen or admin_listen is reported alone, not as a clash too.
        if clash is not None and len(errors.issues) == before:
            errors.add(root.at("admin_listen"), "admin_listen", clash)
    admin_prefix = root.get("admin_prefix", as_str, "/_gateway", "a path such as /_gateway")
    if not re.match(r"^/[A-Za-z0-9._~-]+$", admin_prefix):
        errors.add(
            root.at("admin_prefix"),
            "admin_prefix",
            f"expected one path segment like /_gateway, got {admin_prefix!r}",
        )
    return admin_listen, admin_prefix


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
    host, port = _parse_listen(root)
    admin_listen, admin_prefix = _parse_admin(root, (host, port), before)
    upstreams = _parse_upstreams(root)
    settings = parse_settings(root, sources)
    routes = parse_routes(root, upstreams, admin_prefix)
    portal = parse_customer_portal(root, resources)
    proxy = parse_proxy(root)
    forward_auth = _parse_forward_auth(root, proxy, portal)
    server_names = []
    for i, (h, n) in enumerate(root.strings("server_names", ()) or ()):
        if not hostnames.valid_pattern(h):
            errors.add(n, f"server_names[{i}]", f"expected a host name or *.domain, got {h!r}")
        server_names.append(hostnames.canonical_pattern(h))
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
        forward_auth=forward_auth,
        log_format=log_format,
        log_query=log_query,
        warnings=tuple(errors.warnings),
    )
