"""The poller's decisions as truth tables: every branch a row, its case in the test id."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

import pytest
from cachetools import TLRUCache

from gateway.settings import Reading, policy
from gateway.settings.policy import (
    CAUSES,
    SAVE_EVERY,
    Cause,
    ColdStart,
    Known,
    OnError,
    disable_moment,
    effective_cause,
    effective_state,
    expires_at,
    restored_is_trusted,
    should_save,
    strongest,
)

NOW = 1_000.0  # the monotonic clock in effective_state, the wall clock in disable_moment
ON = Known(True, read_at=NOW - 10)  # a trusted "enabled" read 10 s ago
OFF = Known(False, read_at=NOW - 10)


# known, trusted_before, failing, on_error, cold_start -> the effective state, and its cause
STATE_ROWS = [
    pytest.param(ON, True, False, "last-known", "disabled", True, "store", id="read-enabled"),
    pytest.param(OFF, True, False, "last-known", "enabled", False, "store", id="read-disabled"),
    pytest.param(
        ON,
        True,
        True,
        "last-known",
        "disabled",
        True,
        "store_unavailable",
        id="error-keeps-enabled",
    ),
    pytest.param(
        OFF,
        True,
        True,
        "last-known",
        "enabled",
        False,
        "store_unavailable",
        id="error-keeps-disabled",
    ),
    pytest.param(
        ON,
        True,
        True,
        "disabled",
        "enabled",
        False,
        "store_unavailable",
        id="error-forces-disabled",
    ),
    pytest.param(
        OFF, True, True, "enabled", "disabled", True, "store_unavailable", id="error-forces-enabled"
    ),
    pytest.param(
        None,
        False,
        True,
        "enabled",
        "disabled",
        True,
        "store_unavailable",
        id="forced-before-any-read",
    ),
    pytest.param(ON, True, False, "enabled", "disabled", True, "store", id="forcing-only-on-error"),
    pytest.param(
        None, False, False, "last-known", "disabled", False, "cold_start", id="cold-disabled"
    ),
    pytest.param(
        None, False, False, "last-known", "enabled", True, "cold_start", id="cold-enabled"
    ),
    # The store has been asked and failed: that, not the cold start, is what ops must see.
    pytest.param(
        None, False, True, "last-known", "enabled", True, "store_unavailable", id="cold-failing"
    ),
    # Stale outranks the error that made it so: the stale rule decided the value.
    pytest.param(
        None, True, True, "last-known", "enabled", False, "stale", id="expired-fails-closed"
    ),
    pytest.param(None, True, False, "last-known", "enabled", False, "stale", id="expired-no-error"),
    # A forced value is on_error's decision: the stale rule never applied.
    pytest.param(
        None, True, True, "enabled", "disabled", True, "store_unavailable", id="expired-but-forced"
    ),
    pytest.param(
        None, True, True, "disabled", "enabled", False, "store_unavailable", id="expired-forced-off"
    ),
]


@pytest.mark.parametrize(
    ("known", "trusted_before", "failing", "on_error", "cold_start", "expected", "cause"),
    STATE_ROWS,
)
def test_effective_state(
    known: Known | None,
    trusted_before: bool,
    failing: bool,
    on_error: OnError,
    cold_start: ColdStart,
    expected: bool,
    cause: Cause,
) -> None:
    got = effective_state(known, trusted_before, failing, on_error=on_error, cold_start=cold_start)
    assert got is expected


@pytest.mark.parametrize(
    ("known", "trusted_before", "failing", "on_error", "cold_start", "expected", "cause"),
    STATE_ROWS,
)
def test_effective_cause(
    known: Known | None,
    trusted_before: bool,
    failing: bool,
    on_error: OnError,
    cold_start: ColdStart,
    expected: bool,
    cause: Cause,
) -> None:
    # The cause never depends on cold_start's value: only on which rule decided.
    assert effective_cause(known, trusted_before, failing, on_error=on_error) == cause


def test_every_cause_has_a_rank_and_the_strongest_wins() -> None:
    assert CAUSES == ("override", "schedule", "stale", "store_unavailable", "cold_start", "store")
    assert set(CAUSES) == set(get_args(Cause))
    assert strongest([]) == "store"
    assert strongest(["store", "cold_start", "store_unavailable"]) == "store_unavailable"
    assert strongest(["store_unavailable", "stale"]) == "stale"
    # Room for the operator controls: an override names the cause whatever the store does.
    assert strongest(["stale", "schedule", "override"]) == "override"
    assert strongest(["cold_start", "schedule"]) == "schedule"


@pytest.mark.parametrize(
    ("max_stale", "now", "alive"),
    [
        pytest.param(None, 1e12, True, id="no-max-stale-never-expires"),
        pytest.param(11.0, NOW, True, id="younger-than-stale"),
        pytest.param(10.0, NOW, False, id="expires-at-max-stale"),
        pytest.param(9.0, NOW, False, id="older"),
    ],
)
def test_a_trusted_value_expires_max_stale_after_its_read(
    max_stale: float | None, now: float, alive: bool
) -> None:
    # The poller keeps the trusted value in a cachetools TLRU cache whose time-to-use is
    # expires_at(): the cache itself, on the poller's clock, is the max_stale rule.
    clock = [ON.read_at]
    cache: TLRUCache[str, Known] = TLRUCache(
        maxsize=1, ttu=lambda _k, known, _now: expires_at(known, max_stale), timer=lambda: clock[0]
    )
    cache["known"] = ON
    clock[0] = now
    assert (cache.get("known") is not None) is alive


@pytest.mark.parametrize(
    ("age", "max_stale", "expected"),
    [
        pytest.param(1e9, None, True, id="no-max-stale"),
        pytest.param(59.0, 60.0, True, id="younger"),
        pytest.param(60.0, 60.0, True, id="exactly-max-stale"),
        pytest.param(61.0, 60.0, False, id="older"),
    ],
)
def test_restored_is_trusted(age: float, max_stale: float | None, expected: bool) -> None:
    assert restored_is_trusted(age, max_stale) is expected


def on(changed_at: float | None = None) -> Reading:
    return Reading(True, changed_at)


def off(changed_at: float | None = None) -> Reading:
    return Reading(False, changed_at)


# previous, reading, last_disabled_at, restored_success_at -> the moment (NOW is the wall clock)
DISABLE_ROWS = [
    # -- the store says disabled
    pytest.param(None, off(), None, None, NOW, id="off-first-read-no-change-time-now"),
    pytest.param(None, off(400.0), None, None, 400.0, id="off-first-read-at-change-time"),
    pytest.param(on(), off(), 100.0, None, NOW, id="off-after-on-now"),
    pytest.param(on(300.0), off(700.0), 100.0, None, 700.0, id="off-after-on-at-change-time"),
    pytest.param(off(), off(), None, 900.0, NOW, id="off-restored-without-moment"),
    pytest.param(off(500.0), off(500.0), 500.0, None, None, id="off-still-recorded"),
    pytest.param(off(), off(), 500.0, 900.0, None, id="off-still-no-change-time"),
    pytest.param(off(500.0), off(), 500.0, None, None, id="off-change-time-lost"),
    pytest.param(off(500.0), off(800.0), 500.0, None, 800.0, id="off-on-off-between-polls"),
    pytest.param(off(), off(800.0), 500.0, 900.0, 800.0, id="off-restored-then-change-time"),
    # -- the store says enabled after a disable: the disable ends now (its END is recorded)
    pytest.param(off(), on(), 500.0, None, NOW, id="re-enabled-at-now"),
    pytest.param(off(500.0), on(900.0), 500.0, None, 900.0, id="re-enabled-at-change-time"),
    pytest.param(off(), on(), 500.0, 400.0, NOW, id="re-enabled-after-restored-off"),
    # -- the store says enabled, and was enabled (or nothing was known)
    pytest.param(None, on(), None, None, None, id="on-first-read-no-change-time"),
    pytest.param(on(), on(), None, None, None, id="on-still-no-change-time"),
    pytest.param(None, on(500.0), None, None, 500.0, id="on-first-read-bounds-old-sessions"),
    pytest.param(on(), on(1500.0), None, 1000.0, 1500.0, id="on-restored-changed-since"),
    pytest.param(on(), on(900.0), None, 1000.0, None, id="on-restored-unchanged"),
    pytest.param(on(), on(1000.0), None, 1000.0, None, id="on-restored-changed-at-save"),
    pytest.param(on(), on(900.0), None, None, None, id="on-change-time-first-seen"),
    pytest.param(on(100.0), on(160.0), 100.0, None, 160.0, id="on-off-on-between-polls"),
    pytest.param(on(160.0), on(160.0), 160.0, None, None, id="on-unchanged"),
    pytest.param(on(160.0), on(120.0), 160.0, None, None, id="on-change-time-went-back"),
]


@pytest.mark.parametrize(
    ("previous", "reading", "last_disabled_at", "restored_success_at", "expected"), DISABLE_ROWS
)
def test_disable_moment(
    previous: Reading | None,
    reading: Reading,
    last_disabled_at: float | None,
    restored_success_at: float | None,
    expected: float | None,
) -> None:
    assert disable_moment(previous, reading, NOW, last_disabled_at, restored_success_at) == (
        expected
    )


@pytest.mark.parametrize(
    ("previous", "reading", "moved", "last_success_at", "expected"),
    [
        pytest.param(None, on(), False, None, True, id="first-read"),
        pytest.param(on(), on(), False, None, True, id="no-success-recorded"),
        pytest.param(on(), off(), False, NOW - 1, True, id="value-changed"),
        pytest.param(off(), off(), True, NOW - 1, True, id="disable-moved"),
        pytest.param(on(), on(), False, NOW - SAVE_EVERY, False, id="unchanged-recently-saved"),
        pytest.param(on(), on(), False, NOW - SAVE_EVERY - 1, True, id="unchanged-but-old"),
    ],
)
def test_should_save(
    previous: Reading | None,
    reading: Reading,
    moved: bool,
    last_success_at: float | None,
    expected: bool,
) -> None:
    assert should_save(previous, reading, moved, last_success_at, NOW) is expected


def test_the_policy_is_pure_no_io_no_clock_no_asyncio() -> None:
    tree = ast.parse(Path(policy.__file__).read_text(encoding="utf-8"))
    imported = {
        name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in (
            [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else [a.name for a in node.names]
        )
    }
    assert imported == {
        "__future__",
        "collections.abc",
        "dataclasses",
        "math",
        "typing",
        "gateway.settings",
    }
