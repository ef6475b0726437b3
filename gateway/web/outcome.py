"""What is said about one exchange, whichever front end decided it: counted and logged alike.

The proxy's handler, the forward-auth endpoint and the plugin each fill in the request's
`Outcome` as they decide; once answered it is counted in `portal_gateway_requests_total` and
the request-duration histogram (`GatewayMetrics.request`) and its access line is queued
(`access_entry`). For forward-auth the Outcome
describes the original request the proxy in front asked about (its method, target, route and
portal), not the decision endpoint it was asked on.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import hdrs, web

from gateway.web.decisions import decision_of
from gateway.wire.logline import AccessEntry, path_for_log


@dataclass
class Outcome:
    """What the metrics and the access log say about one exchange; the front end fills it in."""

    # None until the front end has read the request's headers: an exchange it could not read
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
    # Forward-auth: the original request's method and target, logged instead of the decision
    # endpoint's (None: the request itself).
    method: str | None = None
    target: str | None = None

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


def access_entry(
    request: web.BaseRequest,
    response: web.StreamResponse | None,
    note: Outcome,
    arrived: float,
    seconds: float,
    log_where: tuple[str, bool],
    worker: int,
) -> AccessEntry:
    """The facts of one exchange for the access log; formatting waits for the writer thread.

    `log_where`: the admin prefix (a preview link's token is masked under it) and `log_query`.
    """
    status = response.status if response is not None else 0
    # Relayed answers have been written by now; the gateway's own are sent after the handler
    # returns, so their size is their Content-Length.
    size = 0
    if response is not None:
        size = response.body_length or (response.content_length or 0)
    prefix, keep_query = log_where
    # Positional, in AccessEntry's field order: this runs for every request.
    return AccessEntry(
        arrived,
        note.request_id or "-",
        note.client_ip,
        note.method or request.method,
        path_for_log(note.target or request.raw_path, prefix, keep_query=keep_query),
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
