"""The edge's middlewares and response signal, module-level, reading the app's typed keys.

The handler (gateway/edge/handler.py) decides and answers; what is said about each exchange
afterwards, the decision counter and the access line, is written here from the `Outcome` the
handler fills in, whichever way it ended (answered, forwarded, failed or cancelled).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from gateway.edge.decisions import decision_of
from gateway.edge.forward import RelayResponse
from gateway.edge.keys import ACCESS_LOG, METRICS, RUNTIME
from gateway.wire.logline import AccessEntry, path_for_log


@dataclass
class Outcome:
    """What the metrics and the access log say about one exchange; the handler fills it in."""

    # None until the handler has read the request's headers: an exchange it could not read
    # (undecodable header bytes, answered 400) is neither counted nor logged.
    request_id: str | None = None
    client_ip: str = ""
    route: str = "-"
    portal: str = "-"  # the route's portal, customer or office, once a route is known
    reason: str = "forwarded"
    # A customer refusal (at the decision or in flight): why the portal is off. The access
    # log's `reason` says it instead of `reason` (metrics keep `reason`'s fixed names).
    cause: str | None = None
    # Seconds from sending the request upstream to the answer's head (gateway/edge/forward.py);
    # None when nothing was forwarded or no head came.
    upstream_seconds: float | None = None

    @property
    def logged_reason(self) -> str:
        """The access log's `reason`: the cause of a customer refusal, else the decision's."""
        return self.cause if self.cause is not None else self.reason


OUTCOME = web.RequestKey("outcome", Outcome)


def outcome(request: web.Request) -> Outcome:
    """This request's Outcome, created by whichever middleware or handler asks first."""
    found = request.get(OUTCOME)
    if found is None:
        found = request[OUTCOME] = Outcome(client_ip=request.remote or "")
    return found


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
            access.put(access_entry(request, response, note, arrived, seconds, access.pid))


def access_entry(
    request: web.Request,
    response: web.StreamResponse | None,
    note: Outcome,
    arrived: float,
    seconds: float,
    worker: int,
) -> AccessEntry:
    """The facts of one exchange for the access log; formatting waits for the writer thread."""
    config = request.app[RUNTIME].runtime.config
    status = response.status if response is not None else 0
    # Relayed answers have been written by now; the gateway's own are sent after the handler
    # returns, so their size is their Content-Length.
    size = 0
    if response is not None:
        size = response.body_length or (response.content_length or 0)
    # Positional, in AccessEntry's field order: this runs for every request.
    return AccessEntry(
        arrived,
        note.request_id or "-",
        note.client_ip,
        request.method,
        path_for_log(request.raw_path, config.admin_prefix, keep_query=config.log_query),
        note.route,
        note.portal,
        decision_of(note.reason),
        note.logged_reason,
        status,
        size,
        note.upstream_seconds,
        seconds,
        request.headers.get(hdrs.USER_AGENT),
        worker,
    )


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
