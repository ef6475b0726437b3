"""The `settings`, `customer_portal` and `proxy` sections: YAML nodes -> frozen records."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from gateway.config.localised import parse_sentences
from gateway.config.networks import cidr_of, staff_networks
from gateway.config.ports import Resources, SourceCatalog
from gateway.config.schedule import parse_schedule
from gateway.config.schema import (
    UNAVAILABLE_MESSAGE,
    CustomerPortalConfig,
    ProxyConfig,
    SettingsConfig,
    yaml_keys,
)
from gateway.config.selfcheck import parse_mode
from gateway.config.yamlnodes import (
    DURATION,
    SIZE,
    Node,
    Reader,
    as_bool,
    as_str,
    check_keys,
    choice,
    mapping,
    positive_duration,
    positive_int,
)
from gateway.wire import hosts as hostnames
from gateway.wire.values import parse_duration, parse_size

_TOKEN_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~*?\[\]-]+$")
PACKAGED_SHOWN = "the packaged page"  # how errors name the default page
# The control file's default name, beside the config file (gateway/settings/control.py).
CONTROL_FILE = "portal-gateway-control.json"


def _plain(node: Node) -> Any:
    """A node's value with the line bookkeeping stripped (for a store's own options)."""
    if isinstance(node.value, dict):
        return {k: _plain(v) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return [_plain(v) for v in node.value]
    return node.value


def parse_settings(root: Reader, sources: SourceCatalog | None) -> SettingsConfig:
    node = mapping(root.at("settings"), "settings", root.errors)
    if node is None:
        root.errors.add(root.at("settings") or root.node, "settings.source", "required")
        return SettingsConfig(source="")
    common = yaml_keys(SettingsConfig)
    r = Reader(node, "settings", root.errors)
    # The store's own keys are kept as written, with their lines, for the registry to judge.
    options = {k: _plain(v) for k, v in node.items() if k not in common}
    lines = {k: node.key_lines.get(k, v.line) for k, v in node.items() if k not in common}
    lines[SettingsConfig.SECTION] = node.line
    lines[SettingsConfig.HEADER] = root.node.key_lines.get("settings", node.line)
    source_node = r.at("source")
    lines["source"] = source_node.line if source_node is not None else node.line
    source = r.require("source", as_str, "a URL")
    ttl = r.get("ttl", positive_duration, 2.0, DURATION)
    cfg = SettingsConfig(
        source=source or "",
        ttl=ttl,
        timeout=r.get("timeout", positive_duration, min(1.5, ttl), DURATION),
        on_error=r.get(
            "on_error",
            choice("last-known", "enabled", "disabled"),
            "last-known",
            "last-known | enabled | disabled",
        ),
        cold_start=r.get(
            "cold_start", choice("disabled", "enabled"), "disabled", "disabled | enabled"
        ),
        max_stale=r.get("max_stale", positive_duration, None, DURATION),
        state_file=r.get("state_file", as_str, None, "a file path"),
        override_file=r.get(
            "override_file",
            as_str,
            str(Path(root.errors.file).resolve().parent / CONTROL_FILE),
            "a file path",
        ),
        max_override=r.get(
            "max_override",
            _override_cap,
            24 * 3600.0,
            'a duration ("30m", "2h", "1d"), at most 3650d',
        ),
        options=options,
        lines=lines,
    )
    if sources is not None and source is not None:
        for finding in sources.check(cfg):
            report = root.errors.warn if finding.warning else root.errors.add
            report(Node(None, finding.line), finding.key, finding.message)
    return cfg


def _cookie_name(value: object) -> str:
    if not isinstance(value, str) or not _TOKEN_NAME.match(value):
        raise ValueError
    return value


def _page(r: Reader, node: Node, resources: Resources) -> tuple[str | None, str]:
    """The unavailable page's path (None: the packaged one) and its HTML, checked."""
    page = r.get("unavailable_page", as_str, None, "a file path")
    shown = page or PACKAGED_SHOWN
    where = r.at("unavailable_page") or node
    key = "customer_portal.unavailable_page"
    try:
        html = resources.page(page)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        r.errors.add(where, key, f"file not found: {shown}")
        return page, ""
    except OSError as exc:
        r.errors.add(where, key, f"cannot read {shown}: {exc.strerror or exc}")
        return page, ""
    except UnicodeDecodeError:
        r.errors.add(where, key, f"{shown} is not UTF-8 text")
        return page, ""
    if html is None:  # this caller reads no pages (see schema.Offline)
        return page, ""
    if UNAVAILABLE_MESSAGE not in html:
        r.errors.add(
            where, key, f"{shown} does not contain the required sentence {UNAVAILABLE_MESSAGE!r}"
        )
    return page, html


def _session_key(r: Reader, node: Node, resources: Resources) -> bytes | None:
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
        key_text = resources.env(env_name)
    if key_text is None:
        return None
    if len(key_text.encode()) < 32:
        r.errors.add(
            r.at("session_key") or r.at("session_key_env") or node,
            "customer_portal.session_key",
            "must be at least 32 characters (the value is not shown)",
        )
    return key_text.encode()


def parse_customer_portal(root: Reader, resources: Resources) -> CustomerPortalConfig:
    node = mapping(root.at("customer_portal"), "customer_portal", root.errors) or Node({}, 1)
    check_keys(node, yaml_keys(CustomerPortalConfig), "customer_portal", root.errors)
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
    page, html = _page(r, node, resources)
    sentences, localised = parse_sentences(r, page, resources)
    return CustomerPortalConfig(
        session_cookies=tuple(c for c, _ in cookies),
        shared_session_cookies=tuple(c for c, _ in shared),
        cookie_paths=tuple(p for p, _ in paths),
        cookie_domains=tuple(d for d, _ in domains),
        unavailable_page=page,
        unavailable_html=html,
        sentences=sentences,
        localised_html=localised,
        retry_after=r.get("retry_after", positive_int, defaults.retry_after, "whole seconds"),
        mode=parse_mode(r),
        schedule=parse_schedule(r),
        stamp_cookie=r.get("stamp_cookie", _cookie_name, defaults.stamp_cookie, "a cookie name"),
        session_key=_session_key(r, node, resources),
        allow_while_disabled=staff_networks(r, "allow_while_disabled"),
    )


MAX_OVERRIDE = 3650 * 86400.0  # ten years: every end stays a moment the calendar can show


def _override_cap(value: object) -> float:
    seconds = positive_duration(value)
    if not seconds <= MAX_OVERRIDE:
        raise ValueError(value)
    return seconds


def _at_least_one(value: object) -> int:
    number = positive_int(value)
    if number < 1:
        raise ValueError(value)
    return number


def parse_proxy(root: Reader) -> ProxyConfig:
    node = mapping(root.at("proxy"), "proxy", root.errors) or Node({}, 1)
    check_keys(node, yaml_keys(ProxyConfig), "proxy", root.errors)
    r = Reader(node, "proxy", root.errors)
    d = ProxyConfig()
    trusted = []
    for i, (cidr, n) in enumerate(r.strings("trusted_proxies", ()) or ()):
        try:
            trusted.append(cidr_of(cidr))
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
        max_connections=r.get("max_connections", _at_least_one, None, "a whole number >= 1"),
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
