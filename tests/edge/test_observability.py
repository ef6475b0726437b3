"""Decision counters in Prometheus text (the access line: tests/edge/test_accesslog.py)."""

from __future__ import annotations

from gateway.edge.observability import Metrics


def test_metrics_render_sorted_counters_then_gauges() -> None:
    metrics = Metrics()
    metrics.decision("office", "forwarded")
    metrics.decision("customer", "customer_disabled")
    metrics.decision("office", "forwarded")
    assert metrics.render({"portal_gateway_customer_portal_enabled": 1.0, "a_gauge": 0.5}) == (
        "# HELP portal_gateway_decisions_total Requests by route and decision.\n"
        "# TYPE portal_gateway_decisions_total counter\n"
        'portal_gateway_decisions_total{route="customer",reason="customer_disabled"} 1\n'
        'portal_gateway_decisions_total{route="office",reason="forwarded"} 2\n'
        "# TYPE a_gauge gauge\n"
        "a_gauge 0.5\n"
        "# TYPE portal_gateway_customer_portal_enabled gauge\n"
        "portal_gateway_customer_portal_enabled 1\n"
    )
    assert Metrics().render().count("\n") == 2
