"""Reserved endpoints under `admin_prefix` (default /_gateway), answered and never proxied."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from aiohttp import hdrs, web

from gateway.admin.decision import decide
from gateway.admin.state import state_document
from gateway.policy import GateState
from gateway.policy.pages import error_page
from gateway.policy.runtime import Runtime
from gateway.settings.state import PortalState
from gateway.web.pages import page_response
from gateway.web.preview import is_preview, open_preview

# Answered on the public listener too: a load balancer probes there. Every other endpoint
# (metrics, decision, and any added later) reveals state and answers only on the admin listener,
# unless `admin_public` puts them back.
PUBLIC_ENDPOINTS = ("/healthz", "/readyz")


class Admin:
    """The reserved endpoints, over what the app hands in (no app keys: admin is its own layer).

    `not_ready()` is None when ready, else why not; `metrics()` is the Prometheus text;
    `portal()` the poller's state, for readyz's cause and `/state` (without it, neither says).
    """

    def __init__(
        self,
        runtime: Callable[[], Runtime],
        state: Callable[[], GateState],
        wall: Callable[[], float],
        not_ready: Callable[[], str | None] = lambda: None,
        metrics: Callable[[], str] = lambda: "",
        portal: Callable[[], PortalState] | None = None,
        self_check: Callable[[], dict[str, Any] | None] = lambda: None,
    ) -> None:
        self.runtime = runtime
        self.state = state
        self.wall = wall
        self.not_ready = not_ready
        self.metrics = metrics
        self.portal = portal
        self.self_check = self_check

    async def public(self, request: web.Request, request_id: str) -> web.StreamResponse:
        """The reserved endpoints on the public listener: healthz and readyz, all with
        `admin_public` (read per request, so a SIGHUP applies it), else 404."""
        runtime = self.runtime()
        path = request.raw_path.partition("?")[0][len(runtime.config.admin_prefix) :]
        # SECURITY: an allow-list, so an endpoint added later stays off the public listener.
        # A preview link is opened on the public listener: it is staff's way in.
        if runtime.config.admin_public or path in PUBLIC_ENDPOINTS or path.startswith("/preview/"):
            return await self.handle(request, request_id)
        return _error(request, 404, request_id)

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
        if is_preview(request.raw_path, prefix):
            # Also here for forward-auth: the proxy in front routes the links to this listener.
            config, gate = runtime.config, runtime.gate
            return open_preview(request, config, gate, self.state(), self.wall(), request_id)
        if request.method not in ("GET", "HEAD"):
            return _error(request, 405, request_id)
        if path == "/healthz":
            return _plain("ok\n")
        if path == "/readyz":
            why = self.not_ready()
            if why is not None:
                return _plain(f"not ready: {why}\n", 503)
            if self.portal is None:
                return _plain("ready\n")
            # Still 200 whatever the cause (a store outage must not take every replica out of
            # the load balancer); the body says why customers get what they get.
            state = self.portal()
            word = "enabled" if state.enabled else "disabled"
            # Shadow mode says so wherever ops look (README "Shadow mode").
            shadow = "; mode shadow: not enforced" if runtime.gate.shadow else ""
            return _plain(f"ready (customer portal {word}, cause {state.cause}{shadow})\n")
        if path == "/state" and self.portal is not None:
            document = state_document(self.portal(), runtime.config, os.getpid(), self.self_check())
            response = _plain(json.dumps(document, indent=2) + "\n")
            response.content_type = "application/json"
            return response
        if path == "/metrics":
            response = _plain(self.metrics())
            response.content_type = "text/plain"
            response.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
            return response
        return _error(request, 404, request_id)


def _plain(text: str, status: int = 200) -> web.Response:
    response = web.Response(text=text, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _error(request: web.BaseRequest, status: int, request_id: str) -> web.Response:
    return page_response(error_page(status, request_id, request.headers.get(hdrs.ACCEPT, "")))
