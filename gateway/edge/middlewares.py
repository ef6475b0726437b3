"""The edge's middlewares and response signal, module-level, reading the app's typed keys.

The handler (gateway/edge/handler.py) decides and answers; what is said about each exchange
afterwards, the decision counter and the access line, is written here from the `Outcome`
(gateway/web/outcome.py) the handler fills in, whichever way it ended (answered, forwarded,
failed or cancelled).
"""

from __future__ import annotations

import time

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from gateway.edge.forward import RelayResponse
from gateway.edge.keys import ACCESS_LOG, METRICS, RUNTIME
from gateway.web.outcome import access_entry, outcome


@web.middleware
async def log_access(request: web.Request, handler: Handler) -> web.StreamResponse:
    """One access line per identified exchange, queued for the writer thread (accesslog.py)."""
    arrived, started = time.time(), time.monotonic()
    note = outcome(request)
    response: web.StreamResponse | None = None
    try:
        response = await handler(request)
        return response
    finally:
        access = request.app[ACCESS_LOG]
        if note.request_id is not None and access.enabled:
            seconds = time.monotonic() - started
            config = request.app[RUNTIME].runtime.config
            where = (config.admin_prefix, config.log_query)
            access.put(access_entry(request, response, note, arrived, seconds, where, access.pid))


@web.middleware
async def count_decisions(request: web.Request, handler: Handler) -> web.StreamResponse:
    """`portal_gateway_requests_total` and the request duration of every identified exchange."""
    started = time.monotonic()
    note = outcome(request)
    try:
        return await handler(request)
    finally:
        if note.request_id is not None:
            seconds = time.monotonic() - started
            request.app[METRICS].request(note.route, note.portal, note.reason, seconds)


@web.middleware
async def answer_unroutable(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Targets the catch-all route cannot match still get the gateway's answer.

    aiohttp's router matches paths, and `/{tail:.*}` every one that starts with `/`; an
    authority-form target (`CONNECT host:port`) or the asterisk form (`OPTIONS *`) has none, and
    aiohttp would answer it 404 itself. Every other request passes straight to its route.
    With no route, aiohttp has already applied its default Expect handling to these (100
    Continue, or its own 417 for another expectation) before any middleware runs; both targets
    are refused by the gate whatever they carry, so nothing is forwarded either way.
    """
    if request.match_info.http_exception is None:
        return await handler(request)
    return await request.app[CATCH_ALL](request)


CATCH_ALL: web.AppKey[Handler] = web.AppKey("catch_all")


def add_catch_all(app: web.Application, handle: Handler) -> None:
    """Route every request to `handle`, with no Expect handling of aiohttp's own.

    `answer_unroutable`, the app's innermost middleware, sends what the route cannot match to
    the same `handle`. The gateway answers `Expect: 100-continue` itself once it knows the request is forwarded
    (gateway/edge/forward.py); aiohttp's default would send 100 Continue before any decision.
    """
    app[CATCH_ALL] = handle
    app.router.add_route(hdrs.METH_ANY, "/{tail:.*}", handle, expect_handler=_no_expect)


async def _no_expect(request: web.Request) -> None:
    return None


async def name_our_answers(request: web.Request, response: web.StreamResponse) -> None:
    """Answers the gateway gives itself say so; relayed ones keep the upstream's Server."""
    if not isinstance(response, RelayResponse):
        server = request.app[RUNTIME].runtime.config.proxy.server_header
        response.headers[hdrs.SERVER] = server or "portal-gateway"
