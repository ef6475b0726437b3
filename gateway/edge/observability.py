"""The access log (the metrics are in gateway/edge/metrics.py)."""

from __future__ import annotations

import logging

from aiohttp import web

access = logging.getLogger("gateway.access")


def access_log(
    request: web.BaseRequest,
    response: web.StreamResponse | None,
    client_ip: str,
    request_id: str,
    route: str,
    seconds: float,
    reason: str = "-",
) -> None:
    if not access.isEnabledFor(logging.INFO):
        return
    status = response.status if response is not None else 0
    # Relayed answers have been written by now; the gateway's own are sent after the handler
    # returns, so their size is their Content-Length.
    size = 0
    if response is not None:
        size = response.body_length or (response.content_length or 0)
    access.info(
        '%s "%s %s HTTP/%d.%d" %s %s route=%s rid=%s time=%.3f reason=%s',
        client_ip,
        request.method,
        request.raw_path,
        request.version.major,
        request.version.minor,
        status,
        size,
        route,
        request_id,
        seconds,
        reason,
    )
