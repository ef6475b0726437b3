"""The gateway's Prometheus series, through prometheus-client; one registry per app.

One process and several workers take the same path: every series is created and moved the
same way, and only `render()` differs. With `PROMETHEUS_MULTIPROC_DIR` set (the workers'
parent sets it, and wipes the directory, before any worker starts) prometheus-client keeps
each value in a per-process file there and `render()` aggregates every process's files;
`worker_exited(pid)` is the supervisor's bookkeeping for a worker that is gone. Gauges use the
`live*` modes, so a dead worker's last reading (a portal it believed disabled, its open
connections) is dropped with it instead of outliving it; counters keep what dead workers
counted, as Prometheus expects of a counter.

No series has a `pid` label: replicas and workers are told apart by the scrape target.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
    values,
)

from gateway import __version__
from gateway.settings.state import PortalState
from gateway.web.decisions import decision_of

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

CAUSES = ("store", "store_unavailable", "cold_start", "stale", "override", "schedule")
READ_RESULTS = ("ok", "error", "timeout")
UPSTREAM_ERROR_KINDS = ("refused", "timeout", "pool_exhausted", "reset")


def multiproc_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def _sync_value_class() -> None:
    # prometheus-client picks file-backed or in-memory values when it is first imported; the
    # gateway may have been imported before the workers' parent set the variable, so the
    # choice is made again, from the environment as it is now, before any series is created.
    file_backed = values.ValueClass is not values.MutexValue
    if multiproc_dir() is not None and not file_backed:
        values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    elif multiproc_dir() is None and file_backed:
        values.ValueClass = values.MutexValue


def worker_exited(pid: int) -> None:
    """For the supervisor, when a worker has exited: its live gauges stop counting."""
    path = multiproc_dir()
    if path is not None:
        multiprocess.mark_process_dead(pid, path)  # type: ignore[no-untyped-call]


class GatewayMetrics:
    """Every series of one gateway app, in its own registry (many apps may share a process)."""

    def __init__(self, version: str = __version__) -> None:
        _sync_value_class()
        # Exactly the gateway's series: no `_created` twin of every counter and histogram.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=True)
        reg: Any = {"registry": self.registry}
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}
        self.requests = Counter(
            "portal_gateway_requests_total",
            "Requests by route, portal and decision.",
            ["route", "portal", "decision"],
            **reg,
        )
        self.request_duration = Histogram(
            "portal_gateway_request_duration_seconds",
            "Time from the request's head to the answer's last byte, in the gateway.",
            ["portal", "decision"],
            **reg,
        )
        self.upstream_duration = Histogram(
            "portal_gateway_upstream_duration_seconds",
            "Time from sending a request upstream to the upstream answer's head.",
            ["upstream"],
            **reg,
        )
        self.enabled = Gauge(
            "portal_gateway_customer_portal_enabled",
            "1 while customers are let through; across workers, 0 if any worker blocks them.",
            multiprocess_mode="livemin",
            **reg,
        )
        self.state = Gauge(
            "portal_gateway_customer_portal_state",
            "1 for the cause of the portal's current state, 0 for the others.",
            ["cause"],
            multiprocess_mode="livemax",
            **reg,
        )
        self.reads = Counter(
            "portal_gateway_settings_reads_total",
            "Reads of staff's setting by result.",
            ["result"],
            **reg,
        )
        self.last_success = Gauge(
            "portal_gateway_settings_last_success_timestamp_seconds",
            "When the setting was last read successfully (Unix time; 0: never).",
            multiprocess_mode="livemax",
            **reg,
        )
        self.state_changes = Counter(
            "portal_gateway_state_changes_total",
            "Flips of the portal's effective state (enabled to disabled or back).",
            **reg,
        )
        self.open_connections = Gauge(
            "portal_gateway_open_connections",
            "Open connections and exchanges by kind.",
            ["kind"],
            multiprocess_mode="livesum",
            **reg,
        )
        self.build_info = Gauge(
            "portal_gateway_build_info",
            "The gateway's version, as a label; the value is 1.",
            ["version"],
            multiprocess_mode="max",
            **reg,
        )
        self.upstream_errors = Counter(
            "portal_gateway_upstream_errors_total",
            "Failed upstream exchanges by upstream and kind.",
            ["upstream", "kind"],
            **reg,
        )
        self.self_check_ok = Gauge(
            "portal_gateway_self_check_ok",
            "1 when the last self-check through the public listener passed, 0 when it failed; "
            "across workers, 0 if any worker's failed.",
            ["check"],
            multiprocess_mode="livemin",
            **reg,
        )
        self.build_info.labels(version=version).set(1)
        for result in READ_RESULTS:
            self.reads.labels(result=result)
        # Where open connections are counted from, by kind; read by `sample()`.
        self.connections: dict[str, Callable[[], int]] = {}

    def request(self, route: str, portal: str, reason: str, seconds: float) -> None:
        decision = decision_of(reason)
        if decision == "admin":  # the gateway's own answers, the scrape among them
            return
        key = (route, portal, decision)
        children = self._children.get(key)
        if children is None:
            # `labels()` costs most of a request's accounting (a lock and a tuple of strings
            # per call); the label sets are few (routes x portals x decisions), so the pair of
            # children is looked up once per set.
            children = self._children[key] = (
                self.requests.labels(route=route, portal=portal, decision=decision),
                self.request_duration.labels(portal=portal, decision=decision),
            )
        children[0].inc()
        children[1].observe(seconds)

    def self_check(self, check: str, ok: bool | None) -> None:
        """A check's result (None: skipped, so no series says it passed or failed)."""
        if ok is None:
            # prometheus-client cannot drop a series from the workers' files: there the last
            # result stays until a check runs again.
            if multiproc_dir() is None:
                self.self_check_ok.remove(check)
            return
        self.self_check_ok.labels(check=check).set(1 if ok else 0)

    def settings_read(self, result: str) -> None:
        self.reads.labels(result=result).inc()

    def upstream_error(self, upstream: str, kind: str) -> None:
        if kind in UPSTREAM_ERROR_KINDS:
            self.upstream_errors.labels(upstream=upstream, kind=kind).inc()

    def observe_state(self, state: PortalState, max_stale: float | None, now: float) -> None:
        """The portal gauges, from the state the gate reads."""
        self.enabled.set(1 if state.enabled else 0)
        # The cause the poller's policy gave the state (gateway.settings.policy.effective_cause).
        current = state.cause
        for cause in CAUSES:
            self.state.labels(cause=cause).set(1 if cause == current else 0)
        self.last_success.set(state.last_success_at or 0)

    def sample(self) -> None:
        """The connection gauges, from their sources."""
        for kind, count in list(self.connections.items()):
            self.open_connections.labels(kind=kind).set(count())

    def render(self) -> str:
        """The Prometheus text: this app's registry, or every worker's files."""
        path = multiproc_dir()
        if path is None:
            return generate_latest(self.registry).decode()
        return render_processes(path)


def render_processes(path: str) -> str:
    """The Prometheus text of every process's files in `path`, merged by each series' mode."""
    merged = CollectorRegistry()
    multiprocess.MultiProcessCollector(merged, path=path)  # type: ignore[no-untyped-call]
    return generate_latest(merged).decode()
