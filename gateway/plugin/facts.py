"""RequestFacts from the request an aiohttp application received (the plugin's front end)."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import hdrs, web

from gateway.policy import RequestFacts
from gateway.wire.headers import IPNetwork, client_ip, is_trusted


def plugin_facts(
    request: web.BaseRequest, started_at: float, trusted: Sequence[IPNetwork] = ()
) -> RequestFacts:
    """The request as the app's handlers will read it (aiohttp's decoded headers).

    Behind a proxy in `proxy.trusted_proxies` its X-Forwarded-For and X-Forwarded-Proto are
    believed, as the proxy front end does: the gate runs before any forwarded-headers
    middleware of the app's own, so it reads them itself.
    """
    headers = request.headers
    peer = request.remote or ""
    codings = tuple(
        t.strip().lower()
        for line in headers.getall(hdrs.TRANSFER_ENCODING, [])
        for t in line.split(",")
    )
    forwarded_https = is_trusted(peer, trusted) and headers.getall(hdrs.X_FORWARDED_PROTO, [])[
        :1
    ] == ["https"]
    return RequestFacts(
        method=request.method,
        target=request.raw_path,
        host_lines=tuple(headers.getall(hdrs.HOST, [])),
        cookie_lines=tuple(headers.getall(hdrs.COOKIE, [])),
        accept=headers.get(hdrs.ACCEPT, ""),
        accept_language=headers.get(hdrs.ACCEPT_LANGUAGE, ""),
        client_ip=client_ip(peer, headers.getall(hdrs.X_FORWARDED_FOR, []), trusted),
        secure=request.secure or forwarded_https,
        started_at=started_at,
        front_end="plugin",
        http_version=(request.version.major, request.version.minor),
        transfer_codings=codings,
        has_body=request.body_exists,
    )
