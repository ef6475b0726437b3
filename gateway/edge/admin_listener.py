"""The admin listener's own application: the reserved endpoints and nothing else."""

from __future__ import annotations

from aiohttp import web

from gateway.edge.handler import ReservedHandler
from gateway.edge.keys import ACCESS_LOG, METRICS, RUNTIME, Current
from gateway.edge.middlewares import (
    add_catch_all,
    answer_unroutable,
    count_decisions,
    log_access,
    name_our_answers,
)
from gateway.edge.responses import error_response
from gateway.web.accesslog import AccessLog
from gateway.web.metrics import GatewayMetrics
from gateway.web.outcome import outcome
from gateway.wire.headers import request_id

RESERVED: web.AppKey[ReservedHandler] = web.AppKey("reserved_endpoints")


async def reserved_only(request: web.Request) -> web.StreamResponse:
    """The reserved endpoints under the current prefix; everything else 404 (nothing proxied)."""
    note = outcome(request)
    rid = note.request_id = request_id([], False)
    note.route = note.portal = note.reason = "admin"
    # The prefix as of the last SIGHUP, as on the public listener.
    prefix = request.app[RUNTIME].runtime.config.admin_prefix
    path = request.raw_path
    if path.partition("?")[0] == prefix or path.startswith(prefix + "/"):
        return await request.app[RESERVED](request, rid)
    # Not a reserved endpoint: no route matched, and the request is refused (and counted so).
    note.route = note.portal = "-"
    note.reason = "refused_404"
    return error_response(request, 404, rid)


def admin_app(
    current: Current, reserved: ReservedHandler, access: AccessLog, metrics: GatewayMetrics
) -> web.Application:
    """An application sharing the gateway's `Current` runtime, so a SIGHUP reaches both, its
    access log (started and stopped with the gateway's application) and its metrics.

    The reserved endpoints' own answers (the scrape, healthz, readyz) are logged as `admin`
    and not counted; a forward-auth decision is counted and logged as the original request's
    (gateway/admin/decision.py fills in the exchange's Outcome)."""
    app = web.Application(middlewares=[log_access, count_decisions, answer_unroutable])
    app[RUNTIME] = current
    app[ACCESS_LOG] = access
    app[METRICS] = metrics
    app[RESERVED] = reserved
    add_catch_all(app, reserved_only)
    app.on_response_prepare.append(name_our_answers)
    return app
