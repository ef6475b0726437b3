"""The outage log on its own clock: first line at once, a repeat per minute with the count, a
line when it clears."""

from __future__ import annotations

import pytest

from gateway.settings.outage import REPEAT_EVERY, Outage


def test_a_repeat_comes_only_after_a_minute_and_counts_the_reads_since(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger="gateway.settings")
    outage = Outage("memory://", "disabled")
    assert REPEAT_EVERY == 60.0
    for now in (0.0, 10.0, 59.9):
        outage.failed("memory://: down", now)
    assert outage.failing
    outage.failed("memory://: down", 60.0)  # 60 s after the first line, 3 reads since it
    outage.failed("memory://: down", 100.0)
    outage.succeeded(130.0)
    outage.succeeded(131.0)  # not failing: nothing to say
    assert not outage.failing
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("ERROR", "settings read failed: memory://: down (on_error: disabled)"),
        (
            "ERROR",
            "settings read still failing: memory://: down "
            "(3 failed reads in the last 60s; on_error: disabled)",
        ),
        ("WARNING", "settings store readable again (memory://) after 5 failed reads over 130s"),
    ]


def test_the_interval_is_the_callers(caplog: pytest.LogCaptureFixture) -> None:
    outage = Outage("memory://", "last-known", every=5.0)
    for now in range(12):
        outage.failed("memory://: x", float(now))
    repeats = [r.getMessage() for r in caplog.records if "still failing" in r.getMessage()]
    assert repeats == [
        "settings read still failing: memory://: x (5 failed reads in the last 5s; on_error: last-known)",
        "settings read still failing: memory://: x (5 failed reads in the last 5s; on_error: last-known)",
    ]
