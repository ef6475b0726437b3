"""wants_json: JSON only when the client prefers it to HTML; HTML wins ties and unknowns."""

from __future__ import annotations

import pytest

from gateway.wire.negotiate import wants_json


@pytest.mark.parametrize(
    ("accept", "json"),
    [
        ("application/json", True),
        ("application/problem+json", True),
        ("APPLICATION/JSON", True),
        ("", False),
        ("*/*", False),
        ("text/html,application/json", False),  # a tie goes to HTML
        ("application/json, text/html;q=0.9", True),
        ("text/html;q=0.5, application/json;q=0.8", True),
        ("application/json;q=0", False),  # q=0 means "not acceptable"
        ("application/json;q=soon", False),  # an unreadable q counts as 0
        ("application/json; charset=utf-8", True),  # other parameters are not q
        ("text/*;q=1, application/json;q=0.9", False),
        ("image/png", False),
    ],
)
def test_wants_json(accept: str, json: bool) -> None:
    assert wants_json(accept) is json
