"""deploy/prometheus-alerts.yaml: the example alert rules load, and promtool accepts them."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from gateway.web.metrics import GatewayMetrics
from tests.conftest import ROOT

RULES = ROOT / "deploy" / "prometheus-alerts.yaml"


def rules() -> dict[str, dict[str, Any]]:
    (group,) = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"]: rule for rule in group["rules"]}


def test_the_three_alerts_watch_the_gateways_series() -> None:
    found = rules()
    assert set(found) == {
        "PortalGatewayStoreUnreadable",
        "PortalGatewayReplicasDisagree",
        "PortalGatewaySelfCheckFailed",
    }
    series = {
        "PortalGatewayStoreUnreadable": "portal_gateway_settings_last_success_timestamp_seconds",
        "PortalGatewayReplicasDisagree": "portal_gateway_customer_portal_enabled",
        "PortalGatewaySelfCheckFailed": "portal_gateway_self_check_ok",
    }
    for name, rule in found.items():
        assert series[name] in rule["expr"], name
        assert rule["labels"]["severity"] == "page"
        assert rule["annotations"]["summary"]
        assert rule["for"]


def test_promtool_accepts_the_rules() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        message = "promtool not found; install Debian's prometheus (make test does it as root)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    done = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 3 rules found" in done.stdout


def test_the_self_check_alert_matches_the_series_the_gateway_exports() -> None:
    metrics = GatewayMetrics()
    metrics.self_check("customer", True)
    metrics.self_check("office", False)
    samples = {
        (s.name, s.labels.get("check")): s.value
        for family in text_string_to_metric_families(metrics.render())
        for s in family.samples
        if family.name == "portal_gateway_self_check_ok"
    }
    assert samples == {
        ("portal_gateway_self_check_ok", "customer"): 1.0,
        ("portal_gateway_self_check_ok", "office"): 0.0,
    }
    rule = rules()["PortalGatewaySelfCheckFailed"]
    assert rule["expr"].strip() == "portal_gateway_self_check_ok == 0"
    # The summary names the failing check by the label the series carries.
    assert "$labels.check" in rule["annotations"]["summary"]
