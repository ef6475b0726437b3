"""The one mapping from the gate's reasons to the decision words of metrics and the log."""

from __future__ import annotations

import pytest

from gateway.web.decisions import decision_of


@pytest.mark.parametrize(
    ("reason", "decision"),
    [
        ("forwarded", "forwarded"),
        ("websocket", "forwarded"),
        ("stale_session_stripped", "stale_session_stripped"),
        ("customer_disabled", "blocked"),
        ("customer_disabled_in_flight", "blocked"),
        ("refused_404", "refused"),
        ("refused_508", "refused"),
        ("refused_400", "refused"),
        ("loop", "refused"),
        ("classify_error", "refused"),
        ("internal_error", "refused"),
        ("preview", "preview"),
        ("allowlisted", "allowlisted"),
        ("would_block", "would_block"),
        ("admin", "admin"),
        ("a_reason_added_later", "refused"),
    ],
)
def test_each_reason_has_one_decision(reason: str, decision: str) -> None:
    assert decision_of(reason) == decision
