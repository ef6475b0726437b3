"""The series: the cause read defensively, one registry per app, and
several processes writing one directory, merged by each series' mode."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from prometheus_client import values
from prometheus_client.parser import text_string_to_metric_families

from gateway.settings.state import PortalState
from gateway.web.metrics import (
    CAUSES,
    MULTIPROC_ENV,
    GatewayMetrics,
    render_processes,
    worker_exited,
)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
NO_LABELS: frozenset[tuple[str, str]] = frozenset()


def parse(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_each_app_has_its_own_registry() -> None:
    first, second = GatewayMetrics(), GatewayMetrics()
    first.request("office", "office", "forwarded", 0.01)
    first.request("admin", "-", "admin", 0.01)  # not a request
    labels = {"route": "office", "portal": "office", "decision": "forwarded"}
    assert first.registry.get_sample_value("portal_gateway_requests_total", labels) == 1
    assert second.registry.get_sample_value("portal_gateway_requests_total", labels) is None
    assert 'route="admin"' not in first.render()
    first.upstream_error("portal", "refused")
    first.upstream_error("portal", "other")  # logged, not a kind the series has
    text = first.render()
    assert 'portal_gateway_upstream_errors_total{kind="refused",upstream="portal"} 1.0' in text
    assert 'kind="other"' not in text


def test_repeated_label_sets_keep_counting_each_apart() -> None:
    metrics = GatewayMetrics()
    for reason in ("forwarded", "forwarded", "customer_disabled", "preview", "forwarded"):
        metrics.request("customer", "customer", reason, 0.2)
    metrics.request("office", "office", "forwarded", 0.2)
    counts = parse(metrics.render())

    def total(route: str, decision: str) -> float:
        key = frozenset({"route": route, "portal": route, "decision": decision}.items())
        return counts[("portal_gateway_requests_total", key)]

    assert [total("customer", d) for d in ("forwarded", "blocked", "preview")] == [3, 1, 1]
    assert total("office", "forwarded") == 1
    seconds = frozenset({"portal": "customer", "decision": "forwarded"}.items())
    assert counts[("portal_gateway_request_duration_seconds_count", seconds)] == 3


def test_the_state_gauges_name_one_cause() -> None:
    metrics = GatewayMetrics()
    state = PortalState("memory://")
    state.update(True)
    state.last_success_at = 1_700_000_000.0
    metrics.observe_state(state, None, 1_700_000_001.0)
    samples = parse(metrics.render())
    assert samples[("portal_gateway_customer_portal_enabled", frozenset())] == 1
    by_cause = {
        cause: samples[("portal_gateway_customer_portal_state", frozenset({("cause", cause)}))]
        for cause in CAUSES
    }
    assert by_cause == {cause: float(cause == "store") for cause in CAUSES}
    last = ("portal_gateway_settings_last_success_timestamp_seconds", NO_LABELS)
    assert samples[last] == 1_700_000_000.0


WORKER = textwrap.dedent(
    """
    import sys
    from gateway.web.metrics import GatewayMetrics
    from gateway.settings.state import PortalState

    enabled, clients = sys.argv[1] == "1", int(sys.argv[2])
    metrics = GatewayMetrics()
    metrics.request("customer", "customer", "forwarded", 0.02)
    metrics.settings_read("ok")
    state = PortalState("memory://")
    state.update(enabled)
    state.last_success_at = 1_700_000_000.0 + clients
    metrics.observe_state(state, None, 1_700_000_100.0)
    metrics.connections["client"] = lambda: clients
    metrics.sample()
    print(__import__("os").getpid())
    """
)


def _worker(directory: Path, enabled: bool, clients: int) -> int:
    env = {**os.environ, MULTIPROC_ENV: str(directory)}
    done = subprocess.run(
        [sys.executable, "-c", WORKER, "1" if enabled else "0", str(clients)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return int(done.stdout)


def test_several_processes_write_one_directory_merged_by_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _worker(tmp_path, enabled=True, clients=3)
    second = _worker(tmp_path, enabled=False, clients=4)
    samples = parse(render_processes(str(tmp_path)))
    assert not any("pid" in dict(labels) for _, labels in samples)
    requests = frozenset({("route", "customer"), ("portal", "customer"), ("decision", "forwarded")})
    assert samples[("portal_gateway_requests_total", requests)] == 2  # summed
    assert samples[("portal_gateway_settings_reads_total", frozenset({("result", "ok")}))] == 2
    assert samples[("portal_gateway_customer_portal_enabled", frozenset())] == 0  # min
    clients = ("portal_gateway_open_connections", frozenset({("kind", "client")}))
    assert samples[clients] == 7  # summed over the live workers
    last = ("portal_gateway_settings_last_success_timestamp_seconds", NO_LABELS)
    assert samples[last] == 1_700_000_004.0  # the latest
    build = ("portal_gateway_build_info", frozenset({("version", "0.1.0")}))
    assert samples[build] == 1
    # The supervisor's bookkeeping: a dead worker's gauges stop counting, its counts stay.
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))
    worker_exited(second)
    samples = parse(render_processes(str(tmp_path)))
    assert samples[clients] == 3
    assert samples[("portal_gateway_customer_portal_enabled", frozenset())] == 1
    assert samples[("portal_gateway_requests_total", requests)] == 2
    assert first != second


def test_the_value_class_follows_the_environment_when_series_are_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))
    metrics = GatewayMetrics()
    assert values.ValueClass is not values.MutexValue
    metrics.request("office", "office", "forwarded", 0.01)
    # With the variable set, render() merges the directory's files, this process's included.
    assert 'portal_gateway_requests_total{decision="forwarded"' in metrics.render()
    assert list(tmp_path.glob("counter_*.db"))
    monkeypatch.delenv(MULTIPROC_ENV)
    GatewayMetrics()
    assert values.ValueClass is values.MutexValue
    worker_exited(12345)  # without the variable: nothing to do
