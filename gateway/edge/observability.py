"""Decision counters (the access log is gateway/edge/accesslog.py)."""

from __future__ import annotations

from collections import Counter


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
