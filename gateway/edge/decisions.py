"""What the gate did with an exchange, in the four words metrics and the access log share.

The handler records the gate's `reason` (`forwarded`, `customer_disabled`, `refused_404`, ...);
dashboards want fewer, stable words. `decision_of` is the one mapping, so the access log's
`decision` and the metrics' `decision` label never disagree.
"""

from __future__ import annotations

from typing import Literal

Decision = Literal["forwarded", "blocked", "stale_session_stripped", "refused", "admin"]

_BY_REASON: dict[str, Decision] = {
    "forwarded": "forwarded",
    "websocket": "forwarded",
    "stale_session_stripped": "stale_session_stripped",
    "customer_disabled": "blocked",
    "customer_disabled_in_flight": "blocked",
    # The reserved endpoints answered on the public listener: neither proxied nor refused.
    "admin": "admin",
}


def decision_of(reason: str) -> Decision:
    """`forwarded`, `blocked`, `stale_session_stripped`, `refused` (or `admin`) for a reason.

    Every reason the gate or the handler refuses with (`refused_<status>`, `classify_error`,
    `internal_error`, and any reason added later) is `refused`: an unknown reason never counts
    as forwarded.
    """
    return _BY_REASON.get(reason, "refused")
