"""aiohttp request -> RequestFacts, for the proxy front end."""

from __future__ import annotations

from aiohttp import hdrs, web

from gateway.policy import RequestFacts
from gateway.wire.headers import Headers, values, via_has_loop


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
    codings = tuple(
        t.strip().lower()
        for line in values(client_headers, hdrs.TRANSFER_ENCODING)
        for t in line.split(",")
    )
    return RequestFacts(
        method=request.method,
        target=request.raw_path,
        host_lines=tuple(values(client_headers, hdrs.HOST)),
        cookie_lines=tuple(values(client_headers, hdrs.COOKIE)),
        accept=request.headers.get(hdrs.ACCEPT, ""),
        client_ip=client_ip,
        secure=secure,
        started_at=started_at,
        front_end="proxy",
        http_version=(request.version.major, request.version.minor),
        transfer_codings=codings,
        has_body=request.body_exists,
        via_loop=via_has_loop(client_headers, via),
    )
