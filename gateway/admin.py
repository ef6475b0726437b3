"""Reserved endpoints under `admin_prefix` (default /_gateway), answered and never proxied."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from gateway.config import Config
from gateway.decision import decide
from gateway.keys import GAUGES, METRICS, READY
from gateway.responses import error_response


class Admin:
    def __init__(
        self, app: web.Application, config: Callable[[], Config], enabled: Callable[[], bool]
    ) -> None:
        self.app = app
        self.config = config
        self.enabled = enabled

    async def handle(
        self, request: web.Request, request_id: str, prefix: str
    ) -> web.StreamResponse:
        path = request.raw_path.partition("?")[0][len(prefix) :]
        if path == "/decision" or path.startswith("/decision/"):
            # Forward-auth callers may ask with the original method, and Envoy's ext_authz appends
            # the original path to its path_prefix; the answer never reads a body.
            return decide(request, self.config(), self.enabled(), request_id)
        if request.method not in ("GET", "HEAD"):
            return error_response(request, 405, request_id)
        if path == "/healthz":
            return _plain("ok\n")
        if path == "/readyz":
            ready = self.app.get(READY, lambda: True)()
            return _plain("ready\n" if ready else "not ready\n", 200 if ready else 503)
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
