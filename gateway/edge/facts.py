"""aiohttp request -> RequestFacts, for the proxy front end; and what the handler reads first."""

from __future__ import annotations

from aiohttp import hdrs, web

from gateway.policy import RequestFacts
from gateway.wire.headers import Headers, lines_of, via_lines_have_loop
from gateway.wire.paths import PathRejected, canonicalize


def proxy_facts(
    request: web.BaseRequest,
    client_headers: Headers,
    *,
    client_ip: str,
    secure: bool,
    started_at: float,
    via: str,
) -> RequestFacts:
    """Everything the gate may read about a request the gateway itself is serving."""
    # One pass over the headers for the four the gate reads (each name lowered once).
    lines = lines_of(client_headers, "host", "cookie", "transfer-encoding", "via")
    codings = tuple(
        t.strip().lower() for line in lines["transfer-encoding"] for t in line.split(",")
    )
    return RequestFacts(
        method=request.method,
        target=request.raw_path,
        host_lines=tuple(lines["host"]),
        cookie_lines=tuple(lines["cookie"]),
        accept=request.headers.get(hdrs.ACCEPT, ""),
        accept_language=request.headers.get(hdrs.ACCEPT_LANGUAGE, ""),
        client_ip=client_ip,
        secure=secure,
        started_at=started_at,
        front_end="proxy",
        http_version=(request.version.major, request.version.minor),
        transfer_codings=codings,
        has_body=request.body_exists,
        via_loop=via_lines_have_loop(lines["via"], via),
    )


def is_websocket(request: web.BaseRequest) -> bool:
    upgrade = request.headers.get(hdrs.UPGRADE, "").lower()
    tokens = {
        t.strip().lower()
        for line in request.headers.getall(hdrs.CONNECTION, [])
        for t in line.split(",")
    }
    return request.method == hdrs.METH_GET and upgrade == "websocket" and "upgrade" in tokens


def exact_reserved(raw_target: str, prefix: str) -> bool:
    """True only for the reserved prefix's exact spelling: origin form, no escapes, as set.

    Under `/decision/` the rest is Envoy's copy of the original path (ext_authz appends it),
    which forward-auth reads and judges itself, so only the endpoint's own part must be exact.
    """
    path = raw_target.partition("?")[0]
    if not (path == prefix or path.startswith(prefix + "/")):
        return False
    endpoint = path[len(prefix) :].split("/")[1:2]
    if endpoint == ["decision"]:
        return True
    if "%" in path:
        return False
    try:
        canonicalize(raw_target)
    except PathRejected:
        return False
    return True
