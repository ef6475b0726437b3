"""Accept-Language: parsing, q-values, prefixes, `*` and exclusions."""

from __future__ import annotations

import pytest

from gateway.wire.language import MAX_RANGES, choose_language, parse_accept_language


def test_ranges_are_lower_cased_in_order_with_their_q_values() -> None:
    assert parse_accept_language("fr-CA, fr;q=0.8, *;q=0.1, de;q=2, es;q=x, 12;q=1, ") == [
        ("fr-ca", 1.0),
        ("fr", 0.8),
        ("*", 0.1),
        ("de", 1.0),
        ("es", 0.0),
    ]


def test_a_huge_header_is_read_only_so_far() -> None:
    assert len(parse_accept_language(",".join(["fr"] * 1000))) == MAX_RANGES


AVAILABLE = ("fr", "es", "pt-br")


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        ("", "en"),
        ("fr", "fr"),
        ("FR-ca", "fr"),  # a region falls back to its language
        ("pt", "pt-br"),  # a language takes its only regional page
        ("de, es;q=0.5", "es"),
        ("es;q=0.5, fr;q=0.9", "fr"),
        ("es, fr", "es"),  # equal q: the client's order
        ("de", "en"),
        ("*", "en"),
        ("en;q=0, *", "fr"),  # `*` is any language not excluded
        ("fr;q=0, fr-ca", "en"),  # fr is excluded, so its regions are too
        ("fr;q=0", "en"),
        ("en-GB, fr", "en"),
        ("garbage;;;,, ;q=", "en"),
    ],
)
def test_the_preferred_available_language_is_chosen(header: str, chosen: str) -> None:
    assert choose_language(header, AVAILABLE) == chosen
