"""`routes:`: the ordered list that classifies each request as customer, office or public."""

from __future__ import annotations

import difflib
import re

from gateway.config.crosschecks import hosts_overlap
from gateway.config.schema import PORTALS, Route, Upstream, yaml_keys
from gateway.config.yamlnodes import SIZE, Errors, Node, Reader, as_str, check_keys, choice
from gateway.wire import hosts as hostnames
from gateway.wire.paths import PathRejected, route_segments
from gateway.wire.values import parse_size

_METHOD = re.compile(r"^[A-Z][A-Z0-9!#$%&'*+.^_`|~-]*$")


def _parse_route(
    item: Node, index: int, upstreams: dict[str, Upstream], errors: Errors
) -> Route | None:
    path = f"routes[{index}]"
    if not isinstance(item.value, dict):
        errors.add(item, path, f"expected a mapping, got {item.value!r}")
        return None
    check_keys(item, yaml_keys(Route), path, errors)
    r = Reader(item, path, errors)
    name = r.get("name", as_str, f"route{index}", "a name")
    upstream = r.require("upstream", as_str, "an upstream name")
    if upstream is not None and upstreams and upstream not in upstreams:
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
    client_max_size = r.get("client_max_size", parse_size, None, SIZE)
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
        client_max_size=client_max_size,
        segments=tuple(segments),
    )


def parse_routes(
    root: Reader, upstreams: dict[str, Upstream], admin_prefix: str
) -> tuple[Route, ...]:
    node = root.at("routes")
    if node is None or not isinstance(node.value, list) or not node.value:
        root.errors.add(node or root.node, "routes", "required: a non-empty list of routes")
        return ()
    routes = []
    places: list[tuple[int, Node]] = []
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
        places.append((i, item))
    _warn_shared_hosts(routes, places, root.errors)
    return tuple(routes)


def _warn_shared_hosts(routes: list[Route], places: list[tuple[int, Node]], errors: Errors) -> None:
    """An office route on a host a customer route serves: a customer's browser sends its
    session cookies there too, and office routes pass them untouched, whatever the switch says.
    Valid (one-host portals are common), but `check` says so; `crosschecks.hosts_overlap`
    defines the overlap."""
    customers = [r for r in routes if r.portal == "customer"]
    for route, (index, item) in zip(routes, places, strict=True):
        if route.portal != "office":
            continue
        shared = [(c.name, hosts_overlap(route.hosts, c.hosts)) for c in customers]
        shared = [(name, host) for name, host in shared if host is not None]
        if not shared:
            continue
        listed = ", ".join(f"{name!r} ({host})" for name, host in shared)
        # At the `hosts:` key where there is one (its value may start on the next line).
        at = Node(None, item.key_lines["hosts"]) if "hosts" in item.key_lines else item
        errors.warn(
            at,
            f"routes[{index}].hosts",
            f"office route {route.name!r} shares a host with customer "
            f"route{'s' if len(shared) > 1 else ''} {listed}: on a shared host customers' "
            "browsers send their session cookies to the office paths "
            f"({', '.join(route.paths)}) too, and office routes pass untouched even while the "
            "Customer Portal is disabled; serve the Office Portal on a host of its own if the "
            "portal can (hosts: on the office and customer routes)",
        )
