"""Reserved endpoints under `admin_prefix` (default /_gateway), answered and never proxied."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web

from gateway.admin.decision import decide
from gateway.edge.keys import GAUGES, METRICS, READY
from gateway.edge.responses import error_response
from gateway.policy import GateState

if TYPE_CHECKING:
    from gateway.edge.handler import Runtime


class Admin:
    def __init__(
        self,
        app: web.Application,
        runtime: Callable[[], Runtime],
        state: Callable[[], GateState],
        wall: Callable[[], float],
    ) -> None:
        self.app = app
        self.runtime = runtime
        self.state = state
        self.wall = wall

    async def handle(self, request: web.Request, request_id: str) -> web.StreamResponse:
        runtime = self.runtime()
        prefix = runtime.config.admin_prefix
        path = request.raw_path.partition("?")[0][len(prefix) :]
        if path == "/decision" or path.startswith("/decision/"):
            # Any method and any sub-path: Envoy's ext_authz asks with the original method and
            # appends the original path. The answer never reads a body.
            return decide(
                request, runtime.config, runtime.gate, self.state(), self.wall(), request_id
            )
        if request.method not in ("GET", "HEAD"):
            return error_response(request, 405, request_id)
        if path == "/healthz":
            return _plain("ok\n")
        if path == "/readyz":
            why = self.app[READY]() if READY in self.app else None
            if why is None:
                return _plain("ready\n")
            return _plain(f"not ready: {why}\n", 503)
        if path == "/metrics":
            gauges: dict[str, float] = self.app[GAUGES]() if GAUGES in self.app else {}
            response = _plain(self.app[METRICS].render(gauges))
            response.content_type = "text/plain"
            response.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
            return response
        return error_response(request, 404, request_id)


def _plain(text: str, status: int = 200) -> web.Response:
    response = web.Response(text=text, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response
