"""What the gate knows about one request, whichever front end received it.

The proxy builds `RequestFacts` from the aiohttp request it is serving; forward-auth builds them
from the headers its proxy in front sends. `decide()` reads nothing else, so the two front ends
cannot disagree about a request they describe alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from gateway.settings.policy import Cause
from gateway.settings.state import PortalState

FrontEnd = Literal["proxy", "forward_auth", "plugin"]


@dataclass(frozen=True)
class RequestFacts:
    """One request as the gate sees it. Proxy-only facts are None when a proxy never sends them."""

    method: str  # upper-case
    target: str  # the request target as sent: origin form ("/p?q") or absolute form
    host_lines: tuple[str, ...]  # every Host value sent (forward-auth: the original host)
    cookie_lines: tuple[str, ...]  # every Cookie line, as sent
    accept: str  # picks the HTML page or the JSON answer
    client_ip: str  # the real client address (through trusted proxies)
    secure: bool  # https, directly or as a trusted proxy says
    started_at: float  # wall-clock time the request arrived; stamps carry it
    front_end: FrontEnd = "proxy"
    # Proxy-only facts: framing a proxy in front has already dealt with and never transmits.
    http_version: tuple[int, int] | None = None
    transfer_codings: tuple[str, ...] = ()
    has_body: bool = False
    via_loop: bool = False  # our own Via pseudonym is already in the request
    # Picks the unavailable page's language (customer_portal.sentences); every front end
    # passes it on (nginx, Traefik and Caddy send the client's headers, Envoy when listed).
    accept_language: str = ""


@dataclass(frozen=True)
class GateState:
    """The portal state at one instant, as the poller last computed it."""

    enabled: bool
    # The latest moment the portal is known to have been off: while disabled, when the disable
    # began; once re-enabled, when it ended. Sessions that began before it are stale.
    last_disabled_at: float | None
    # Why `enabled` is what it is (gateway/settings/policy.py): never changes the decision, only
    # what a refusal says in the access log and the metrics.
    cause: Cause = "store"
    # Preview links issued under an older generation were revoked (settings.override_file).
    preview_generation: int = 0
    # Shown on the unavailable page: the note for customers (schedule, override or store) and
    # when the portal is expected back (epoch seconds; also Retry-After), when known.
    message: str | None = None
    retry_at: float | None = None
    retry_offset: timedelta | None = None  # the page shows `retry_at` in it (None: UTC)

    def straddles_disable(self, started_at: float) -> bool:
        """True when a disable is in force now or happened since `started_at`."""
        # SECURITY: an exchange that began before a disable and ends after it (even after a
        # quick re-enable) must not come out with a session the disable should have ended.
        return not self.enabled or (
            self.last_disabled_at is not None and self.last_disabled_at >= started_at
        )


def gate_state(state: PortalState) -> GateState:
    """The gate's view of the poller's state at this instant (every front end builds it so)."""
    return GateState(
        enabled=state.enabled,
        last_disabled_at=state.last_disabled_at,
        cause=state.cause,
        preview_generation=state.preview_generation,
        message=state.message,
        retry_at=state.retry_at,
        retry_offset=state.retry_offset,
    )
