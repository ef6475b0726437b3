"""`customer_portal.mode` and `customer_portal.self_check`: YAML nodes -> records, checked.

A self-check target is a path (`/enroll`) or a URL (`https://portal.example.com/enroll`, whose
authority is the Host sent). Each must reach the route of its kind: the customer check a
`portal: customer` route, the office check a `portal: office` one, with the Host it will send.
A probe that lands elsewhere would prove nothing, so that is a located error at load.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.config.schema import Mode, Portal, Route, SelfCheckConfig, SelfCheckTarget, yaml_keys
from gateway.config.yamlnodes import Errors, Node, Reader, as_str, check_keys, choice, mapping
from gateway.wire import hosts
from gateway.wire.paths import PathRejected, canonicalize

KINDS: tuple[Portal, ...] = ("customer", "office")
DEFAULT_HOST = "localhost"


@dataclass(frozen=True)
class Written:
    """A self-check target as written, with its node, until the routes are known."""

    kind: Portal
    text: str
    node: Node


SHADOW_WARNING = (
    "shadow mode: staff's setting is not enforced; customers pass while it is off "
    "(counted as would_block)"
)


def parse_mode(r: Reader) -> Mode:
    mode: Mode = r.get("mode", choice("enforce", "shadow"), "enforce", "enforce | shadow")
    if mode == "shadow":
        # Loud on purpose: `check` prints it and start-up (and each SIGHUP) logs it.
        r.errors.warn(r.at("mode"), "customer_portal.mode", SHADOW_WARNING)
    return mode


def parse_self_check(root: Reader) -> tuple[Written, ...] | None:
    """The written targets (None: no self-check); `resolve` checks them against the routes."""
    portal = root.at("customer_portal")
    if portal is None or not isinstance(portal.value, dict):
        return None  # reported by the section's own parser
    key = "customer_portal.self_check"
    node = mapping(portal.value.get("self_check"), key, root.errors)
    if node is None:
        return None
    check_keys(node, yaml_keys(SelfCheckConfig), key, root.errors)
    inner = Reader(node, key, root.errors)
    out: list[Written] = []
    for kind in KINDS:
        text = inner.require(kind, as_str, "a path (/enroll) or a URL (https://host/enroll)")
        child = inner.at(kind)
        if text is not None and child is not None:
            out.append(Written(kind, text, child))
    return tuple(out) if len(out) == len(KINDS) else None


def probe_host(server_names: Sequence[str]) -> str:
    """The Host a path target is sent with: the first plain server name, else localhost."""
    plain = [n for n in server_names if not n.startswith("*.")]
    return plain[0] if plain else DEFAULT_HOST


def resolve(
    written: tuple[Written, ...] | None,
    routes: Sequence[Route],
    server_names: Sequence[str],
    admin_prefix: str,
    errors: Errors,
) -> SelfCheckConfig | None:
    """Each target in origin form with its Host, or a located error naming where it lands."""
    if written is None:
        return None
    targets: dict[str, SelfCheckTarget] = {}
    for item in written:
        key = f"customer_portal.self_check.{item.kind}"
        target = _target(item, server_names, admin_prefix, errors, key)
        if target is None:
            continue
        segments = canonicalize(target.target).segments
        route = _first_route(routes, segments, target.host)
        if route is None:
            errors.add(item.node, key, f"{item.text!r} matches no route")
        elif route.portal != item.kind:
            errors.add(
                item.node,
                key,
                f"{item.text!r} goes to route {route.name!r} (portal: {route.portal}), "
                f"not to {_article(item.kind)} {item.kind} route",
            )
        else:
            targets[item.kind] = target
    if len(targets) != len(KINDS):
        return None
    return SelfCheckConfig(customer=targets["customer"], office=targets["office"])


def _target(
    item: Written, server_names: Sequence[str], admin_prefix: str, errors: Errors, key: str
) -> SelfCheckTarget | None:
    try:
        parsed = canonicalize(item.text)
    except PathRejected as exc:
        errors.add(item.node, key, f"expected a path or an http(s) URL: {exc}, got {item.text!r}")
        return None
    host = probe_host(server_names)
    if parsed.authority is not None:
        canonical = hosts.canonical_host(parsed.authority)
        if canonical is None:
            errors.add(item.node, key, f"invalid host in {item.text!r}")
            return None
        host = parsed.authority
    if server_names and not any(
        hosts.matches(p, hosts.canonical_host(host) or "") for p in server_names
    ):
        errors.add(item.node, key, f"host {host!r} is not in server_names")
        return None
    prefix = admin_prefix.lower().strip("/")
    if parsed.segments[:1] == (prefix,):
        errors.add(item.node, key, f"{item.text!r} is under the reserved prefix {admin_prefix}")
        return None
    query = f"?{parsed.query}" if parsed.query is not None else ""
    return SelfCheckTarget(target=parsed.path + query, host=host)


def _first_route(routes: Sequence[Route], segments: tuple[str, ...], host: str) -> Route | None:
    # The gate's own matching (gateway/policy/routing.py), for a GET: config sits below it.
    canonical = hosts.canonical_host(host) or ""
    for route in routes:
        if route.methods is not None and "GET" not in route.methods:
            continue
        if route.hosts and not any(hosts.matches(p, canonical) for p in route.hosts):
            continue
        if any(segments[: len(prefix)] == prefix for prefix in route.segments):
            return route
    return None


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"
