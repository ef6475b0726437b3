"""Decision counters and the access log."""

from __future__ import annotations

import logging
from collections import Counter

from aiohttp import web

access = logging.getLogger("gateway.access")


class Metrics:
    """Counts decisions per route and reason; rendered in Prometheus text format."""

    def __init__(self) -> None:
        self.decisions: Counter[tuple[str, str]] = Counter()

    def decision(self, route: str, reason: str) -> None:
        self.decisions[(route, reason)] += 1

    def render(self, gauges: dict[str, float] | None = None) -> str:
        lines = [
            "# HELP portal_gateway_decisions_total Requests by route and decision.",
            "# TYPE portal_gateway_decisions_total counter",
        ]
        for (route, reason), count in sorted(self.decisions.items()):
            lines.append(
                f'portal_gateway_decisions_total{{route="{route}",reason="{reason}"}} {count}'
            )
        for name, value in sorted((gauges or {}).items()):
            lines.append(f"# TYPE {name} gauge")
            lines.append(f"{name} {value:g}")
        return "\n".join(lines) + "\n"


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
