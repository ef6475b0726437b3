"""What the plugin says about each request it gates: the proxy's series and access line.

The plugin counts the app's requests in its own registry (`portal_gateway_requests_total` and
the request-duration histogram, by the route and portal that matched, with the proxy's
decision words) and queues one access line per request in the proxy's form. The app serves
`PluginGate.metrics_text()` where its scrapes go; the access log is on while the
`gateway.access` logger is at INFO, as for the proxy.
"""

from __future__ import annotations

import time

from aiohttp import web

from gateway.config import Config
from gateway.settings.state import PortalState
from gateway.web.accesslog import AccessLog, stderr_format
from gateway.web.metrics import GatewayMetrics
from gateway.web.outcome import Outcome, access_entry


class Accounting:
    """One plugged-in app's series and access log."""

    def __init__(self, config: Config) -> None:
        self.metrics = GatewayMetrics()  # its own registry: the app's own stays its own
        self.access = AccessLog(config.log_format or stderr_format())

    def record(
        self,
        request: web.Request,
        response: web.StreamResponse | None,
        note: Outcome,
        seconds: float,
        config: Config,
    ) -> None:
        """Count and log one gated request (one the gate has identified)."""
        if note.request_id is None:
            return
        self.metrics.request(note.route, note.portal, note.reason, seconds)
        access = self.access
        if access.enabled:
            where = (config.admin_prefix, config.log_query)
            arrived = time.time() - seconds
            access.put(access_entry(request, response, note, arrived, seconds, where, access.pid))

    def metrics_text(self, state: PortalState, max_stale: float | None) -> str:
        """The Prometheus text, the portal gauges as of now."""
        self.metrics.observe_state(state, max_stale, time.time())
        return self.metrics.render()
