"""Property: whatever the gateway forwards, a normalizing backend picks the gateway's route.

The "strict backend" below does everything real upstreams have been seen to do to a path:
percent-decodes it (repeatedly), treats backslashes as slashes, strips `;params`, removes dot
segments, folds repeated slashes, normalizes Unicode (NFKC) and compares case-insensitively.
If any of that could move a request the gateway accepted onto another route, the gate could
be walked around; hypothesis searches for such a request.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.config import Route
from gateway.policy import routing
from gateway.wire import hosts
from gateway.wire.paths import PathRejected, canonicalize, route_segments


def _route(name: str, portal: str, paths: list[str], host_list: tuple[str, ...] = ()) -> Route:
    return Route(
        name=name,
        paths=tuple(paths),
        upstream="portal",
        portal=portal,  # type: ignore[arg-type]
        hosts=host_list,
        segments=tuple(route_segments(p) for p in paths),
    )


# Two shapes ops use: a customer catch-all, and explicit customer paths with an office catch-all.
ROUTE_TABLES = [
    (
        _route("public", "public", ["/public", "/healthz"]),
        _route("office", "office", ["/office"], ("office.example.com",)),
        _route("customer", "customer", ["/"]),
    ),
    (
        _route("customer", "customer", ["/portal", "/login", "/pay"]),
        _route("office", "office", ["/"]),
    ),
]

PIECES = [
    "office",
    "public",
    "portal",
    "pay",
    "login",
    "healthz",
    "x",
    "OFFICE",
    "Portal",
    ".",
    "..",
    "%2e",
    "%2E%2e",
    "%2f",
    "%2F",
    "%5c",
    "\\",
    ";",
    ";x=1",
    "%3b",
    "%25",
    "%252e",
    "%6f",
    "%6Ffice",
    "p%6Frtal",
    "%00",
    "%23",
    "%3f",
    "\u0435",
    "%EF%BD%8F",
    "%EF%BD%90ortal",
    "%EF%BD%8Fffice",
    "%C0%AE",
    "~",
    "a+b",
    "",
    "/",
    "//",
]


def backend_segments(path: str) -> tuple[str, ...]:
    decoded = path
    for _ in range(3):
        decoded = unquote(decoded, errors="replace")
    decoded = decoded.replace("\\", "/")
    decoded = re.sub(r";[^/]*", "", decoded)
    decoded = unicodedata.normalize("NFKC", decoded)
    decoded = posixpath.normpath("/" + decoded)
    decoded = re.sub(r"/+", "/", decoded).lower()
    return tuple(s for s in decoded.split("/") if s)


def backend_route(table: tuple[Route, ...], path: str, host: str) -> str | None:
    route = routing.match(table, backend_segments(path), host, "GET")
    return route.name if route else None


paths = st.lists(st.sampled_from(PIECES), min_size=1, max_size=6).map(
    lambda parts: "/" + "/".join(parts)
)
host_values = st.sampled_from(
    [
        "office.example.com",
        "OFFICE.example.com.",
        "office.example.com:443",
        "portal.example.com",
        "office.example.com.evil",
        "[::1]",
    ]
)


@pytest.mark.slow
@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=paths,
    host=host_values,
    table=st.sampled_from(ROUTE_TABLES),
    slashes=st.sampled_from(["reject", "keep"]),
)
def test_forwarded_requests_route_the_same_for_a_normalizing_backend(
    path: str, host: str, table: tuple[Route, ...], slashes: str
) -> None:
    try:
        target = canonicalize(path, escaped_slashes=slashes)  # type: ignore[arg-type]
    except PathRejected:
        return  # refused with 400: nothing was forwarded
    canonical_host = hosts.canonical_host(host)
    assert canonical_host is not None
    chosen = routing.match(table, target.segments, canonical_host, "GET")
    gateway_name = chosen.name if chosen else None
    assert target.forward == path  # forwarded byte for byte
    assert backend_route(table, target.forward, canonical_host) == gateway_name, (
        path,
        target.segments,
    )
