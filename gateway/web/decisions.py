"""What the gate did with an exchange, in the few words metrics and the access log share.

The handler records the gate's `reason` (`forwarded`, `customer_disabled`, `refused_404`, ...);
dashboards want fewer, stable words. `decision_of` is the one mapping, so the access log's
`decision` and the metrics' `decision` label never disagree.
"""

from __future__ import annotations

from typing import Literal, get_args

Decision = Literal[
    "forwarded",
    "blocked",
    "stale_session_stripped",
    "refused",
    "preview",
    "allowlisted",
    "would_block",
    "admin",
]

_BY_REASON: dict[str, Decision] = {
    "forwarded": "forwarded",
    "websocket": "forwarded",
    "stale_session_stripped": "stale_session_stripped",
    "customer_disabled": "blocked",
    "customer_disabled_in_flight": "blocked",
    "loop": "refused",
    "classify_error": "refused",
    "internal_error": "refused",
    # The reserved endpoints, the gateway's own answers: neither proxied nor refused. Logged,
    # not counted as requests by the metrics (the scrape is one of them).
    "admin": "admin",
}
# A reason may already be its decision word (the operator controls' reasons name theirs).
_BY_REASON.update({d: d for d in get_args(Decision)})


def decision_of(reason: str) -> Decision:
    """The decision word for a reason: `forwarded`, `blocked`, `stale_session_stripped`,
    `refused`, `preview`, `allowlisted`, `would_block` or `admin`.

    Every reason the gate or the handler refuses with (`refused_<status>`, `loop`,
    `classify_error`, `internal_error`, and any reason added later) is `refused`: an unknown
    reason never counts as forwarded.
    """
    return _BY_REASON.get(reason, "refused")
