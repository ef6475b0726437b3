"""Request -> Route: first match wins, on the canonical target and the canonical host."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.config import Route
from gateway.wire import hosts


def _path_matches(route: Route, segments: tuple[str, ...]) -> bool:
    # SECURITY: segment prefixes, not string prefixes: /public must not match /publicity.
    return any(segments[: len(prefix)] == prefix for prefix in route.segments)


def match(
    routes: Sequence[Route], segments: tuple[str, ...], host: str, method: str
) -> Route | None:
    """The first route whose paths, hosts and methods all accept the request."""
    for route in routes:
        if route.methods is not None and method not in route.methods:
            continue
        if route.hosts and not any(hosts.matches(p, host) for p in route.hosts):
            continue
        if _path_matches(route, segments):
            return route
    return None


def describe(routes: Sequence[Route]) -> list[tuple[str, str, str, str, str, str]]:
    """Rows of the resolved route table `check` prints."""
    rows: list[tuple[str, str, str, str, str, str]] = []
    for i, r in enumerate(routes, 1):
        rows.append(
            (
                str(i),
                r.name,
                r.portal,
                ", ".join(r.paths),
                ", ".join(r.hosts) or "*",
                ", ".join(sorted(r.methods)) if r.methods else "*",
            )
        )
    return rows
