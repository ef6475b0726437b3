"""Change times out of a document or a row: what can date a disable, and what cannot."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from gateway.settings import SettingsUnavailable, check_change_time
from gateway.settings.document import MAX_MESSAGE, message_text, parse_time

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1_700_000_000, 1_700_000_000.0),
        (0, 0.0),
        (Decimal("1700000000.5"), 1_700_000_000.5),
        ("2023-11-14T22:13:20Z", 1_700_000_000.0),
        (datetime(2023, 11, 14, 22, 13, 20), 1_700_000_000.0),  # naive: UTC
    ],
)
def test_times_that_can_date_a_change(value: object, expected: float) -> None:
    assert parse_time(value, "store") == expected


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (float("nan"), "nan is not a finite number"),
        (float("inf"), "inf is not a finite number"),
        (float("-inf"), "-inf is not a finite number"),
        (10**400, "is not a finite number"),
        (Decimal("NaN"), "Decimal('NaN') is not a finite number"),
        (Decimal("sNaN"), "Decimal('sNaN') is not a finite number"),
        (Decimal("Infinity"), "Decimal('Infinity') is not a finite number"),
        (-1, "-1 is before 1970"),
        ("1969-12-31T23:59:59Z", "'1969-12-31T23:59:59Z' is before 1970"),
        (datetime.min, "'0001-01-01T00:00:00' is before 1970"),
        (
            datetime.min.replace(tzinfo=timezone(timedelta(hours=-5))),
            "'0001-01-01T00:00:00-05:00' is before 1970",
        ),
        (253_402_300_800, "253402300800 is beyond the year 9999"),
        (1e300, "1e+300 is beyond the year 9999"),
        (datetime(9999, 12, 31, 23, 59, 59), "is more than a day ahead of this clock"),
        ("9999-12-31T23:59:59.999999+00:00", "is beyond the year 9999"),  # rounds up
    ],
)
def test_times_that_would_erase_a_disable_are_read_errors(value: object, why: str) -> None:
    with pytest.raises(SettingsUnavailable, match=rf"^store: change time .*{re.escape(why)}$"):
        parse_time(value, "store")


def test_a_day_ahead_of_the_wall_clock_is_the_limit() -> None:
    assert check_change_time(NOW + 86_400, "store", now=NOW) == NOW + 86_400
    with pytest.raises(
        SettingsUnavailable,
        match=r"^store: change time 1700086401\.0 is more than a day ahead of this clock$",
    ):
        check_change_time(NOW + 86_401, "store", now=NOW)


def test_a_note_as_large_as_a_document_is_cut_without_reading_it_all() -> None:
    # The read runs on the event loop: a note someone pasted a file into (a Redis value, an
    # SQL text column) must not stall every request for seconds at each poll.
    huge = "ab " * 10_000_000
    started = time.perf_counter()
    note = message_text(huge)
    assert time.perf_counter() - started < 1.0
    assert note is not None and len(note) == MAX_MESSAGE and note.endswith("\u2026")
    assert note.startswith("ab ab ab")
    assert message_text(huge.encode()) == note
    # Runs of whitespace and control characters still collapse before the cut.
    assert message_text(" \t\x00 Back\n\n\r after\u2028the run ") == "Back after the run"
