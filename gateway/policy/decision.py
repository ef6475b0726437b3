"""The gate's answer: one value, translated by each front end (proxy, forward-auth)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from gateway.config import Route
from gateway.policy.stamps import StampPlan
from gateway.settings.policy import Cause
from gateway.wire.paths import Target


@dataclass(frozen=True)
class Deny:
    """Answered by the gateway; nothing reaches the upstream."""

    status: int
    reason: str  # metrics and logs: customer_disabled, refused_404, loop, reserved, ...
    body: Literal["unavailable", "error"]
    set_cookies: tuple[str, ...] = ()  # Set-Cookie lines expiring the carried sessions
    close: bool = False  # the connection cannot be reused (unread body, desync suspicion)
    route: Route | None = None
    detail: str = ""  # why, for the log line (never shown to the client)
    # A customer refusal: why the portal is off (store, store_unavailable, stale, cold_start...).
    cause: Cause | None = None


@dataclass(frozen=True)
class Allow:
    """Forward the request, with these edits, and apply `stamp` to the answer."""

    route: Route
    target: Target
    host_header: str  # the Host to send upstream, as the client sent it
    reason: str = "forwarded"  # or stale_session_stripped
    # The Cookie line to send upstream instead of the client's (None: send none). Absent
    # (`cookie_edited` False): the client's Cookie lines pass untouched.
    upstream_cookie: str | None = None
    cookie_edited: bool = False
    # Set-Cookie lines for the client known at decision time (expiries of stale sessions; in
    # forward-auth mode also the stamp, which the proxy copies to its answer).
    set_cookies: tuple[str, ...] = ()
    withheld: tuple[str, ...] = field(default=())  # raw cookie names kept from the upstream
    stamp: StampPlan | None = None  # response phase (proxy): how to re-stamp the answer
    # Shadow mode: what enforcing would have done instead, said in the access log's `reason`
    # (the cause of a refusal, or stale_session_stripped); None for a plain allow.
    shadowed: str | None = None


Decision = Allow | Deny
