"""Truth tables for the operator controls over the store's decision (gateway/settings/ranking.py)."""

from __future__ import annotations

import pytest

from gateway.config import Window
from gateway.settings.control import Override
from gateway.settings.policy import CAUSES, Cause
from gateway.settings.ranking import (
    UNTRUSTED,
    Verdict,
    control_disable_moment,
    enable_refused,
    live_override,
    next_boundary,
    off_by_control,
    rank,
    window_at,
)

NOW = 1_800_000_000.0
WINDOW = Window(starts=NOW - 60, ends=NOW + 600, message="Closed for the holidays", offset=3600)
DOWN = Override("disable", NOW + 300, "billing run", message="Back after the billing run")
UP = Override("enable", NOW + 300, "store outage")

# The store policy's outcomes: (enabled, cause, the store's last good answer).
Base = tuple[bool, Cause, bool | None]
STORE_ON: Base = (True, "store", True)
STORE_OFF: Base = (False, "store", False)
OUTAGE_KEPT_OFF: Base = (False, "store_unavailable", False)  # last-known: staff said off
OUTAGE_FORCED_OFF: Base = (False, "store_unavailable", True)  # on_error: disabled; staff said on
OUTAGE_NEVER_READ: Base = (False, "store_unavailable", None)
COLD: Base = (False, "cold_start", None)
COLD_AFTER_RESTART_OFF: Base = (False, "cold_start", False)  # a state file said off, too old
STALE_ON: Base = (False, "stale", True)
STALE_OFF: Base = (False, "stale", False)

BASES: dict[str, Base] = {
    "store on": STORE_ON,
    "store off": STORE_OFF,
    "outage, staff said off": OUTAGE_KEPT_OFF,
    "outage, forced off, staff said on": OUTAGE_FORCED_OFF,
    "outage, never read": OUTAGE_NEVER_READ,
    "cold start": COLD,
    "cold start, old file said off": COLD_AFTER_RESTART_OFF,
    "stale, staff said on": STALE_ON,
    "stale, staff said off": STALE_OFF,
}


def ranked(
    base: Base,
    override: Override | None = None,
    window: Window | None = None,
    store_message: str | None = None,
) -> Verdict:
    enabled, cause, said = base
    return rank(
        enabled,
        cause,
        store_value=said,
        store_message=store_message,
        override=override,
        window=window,
    )


# (base, override, window) -> (enabled, cause)
TABLE: list[tuple[str, Override | None, Window | None, bool, Cause]] = [
    # No control: the store policy decides.
    *[(name, None, None, b[0], b[1]) for name, b in BASES.items()],
    # An override disable wins over everything.
    *[(name, DOWN, None, False, "override") for name in BASES],
    *[(name, DOWN, WINDOW, False, "override") for name in BASES],
    # A window disables whatever the store says.
    *[(name, None, WINDOW, False, "schedule") for name in BASES],
    # An override enable never beats a window.
    *[(name, UP, WINDOW, False, "schedule") for name in BASES],
    # An override enable covers the causes that are no decision of staff's...
    ("outage, forced off, staff said on", UP, None, True, "override"),
    ("outage, never read", UP, None, True, "override"),
    ("cold start", UP, None, True, "override"),
    ("stale, staff said on", UP, None, True, "override"),
    # ... never staff's "disabled", however it is known.
    ("store off", UP, None, False, "store"),
    ("outage, staff said off", UP, None, False, "store_unavailable"),
    ("cold start, old file said off", UP, None, False, "cold_start"),
    ("stale, staff said off", UP, None, False, "stale"),
    # Already on: nothing to cover.
    ("store on", UP, None, True, "store"),
]


@pytest.mark.parametrize(
    ("base", "override", "window", "enabled", "cause"),
    TABLE,
    ids=[f"{b}|{o and o.action}|{'window' if w else '-'}" for b, o, w, _, _ in TABLE],
)
def test_the_ranking_truth_table(
    base: str, override: Override | None, window: Window | None, enabled: bool, cause: Cause
) -> None:
    verdict = ranked(BASES[base], override, window)
    assert (verdict.enabled, verdict.cause) == (enabled, cause)


def test_the_table_covers_every_base_with_an_enable() -> None:
    covered = {b for b, o, w, _, _ in TABLE if o is UP and w is None}
    assert covered == set(BASES)


def test_no_control_ever_turns_the_portal_on_while_staff_said_off() -> None:
    # SECURITY: the property behind the table, over every combination.
    for base in BASES.values():
        for override in (None, DOWN, UP):
            for window in (None, WINDOW):
                verdict = ranked(base, override, window)
                if base[2] is False:
                    assert not verdict.enabled, (base, override, window)
                if override is DOWN or window is not None:
                    assert not verdict.enabled


def test_the_enable_covers_only_the_untrusted_causes_and_the_ranking_is_the_causes_order() -> None:
    assert frozenset({"stale", "store_unavailable", "cold_start"}) == UNTRUSTED
    assert CAUSES.index("override") < CAUSES.index("schedule") < CAUSES.index("stale")
    assert enable_refused(False) and not enable_refused(True) and not enable_refused(None)


def test_the_page_note_and_the_return_time_follow_the_cause() -> None:
    store = "staff's note"
    assert ranked(STORE_OFF, DOWN, WINDOW, store) == Verdict(
        False, "override", "Back after the billing run", DOWN.until
    )
    silent = Override("disable", NOW + 300, "why")
    assert ranked(STORE_ON, silent, WINDOW, store).message == "Closed for the holidays"
    assert ranked(STORE_ON, silent, None, store) == Verdict(False, "override", store, NOW + 300)
    assert ranked(STORE_ON, None, WINDOW, store) == Verdict(
        False, "schedule", "Closed for the holidays", WINDOW.ends
    )
    assert ranked(STORE_OFF, None, None, store) == Verdict(False, "store", store, None)
    assert ranked(COLD, UP, None, store) == Verdict(True, "override", store, None)


def test_an_override_lasts_until_its_end_and_windows_cover_from_their_start() -> None:
    assert live_override(DOWN, NOW) is DOWN
    assert live_override(DOWN, DOWN.until) is None
    assert live_override(None, NOW) is None
    schedule = (WINDOW, Window(starts=NOW + 3600, ends=NOW + 7200))
    assert window_at(schedule, WINDOW.starts) is WINDOW
    assert window_at(schedule, WINDOW.ends) is None
    assert window_at(schedule, NOW + 3600) is schedule[1]
    assert window_at((), NOW) is None


def test_the_poller_wakes_at_the_next_edge() -> None:
    schedule = (WINDOW, Window(starts=NOW + 3600, ends=NOW + 7200))
    assert next_boundary(schedule, None, NOW) == WINDOW.ends
    assert next_boundary(schedule, DOWN, NOW) == DOWN.until
    assert next_boundary(schedule, None, NOW + 700) == NOW + 3600
    assert next_boundary(schedule, None, NOW + 7200) is None
    assert next_boundary((), DOWN, DOWN.until) is None


@pytest.mark.parametrize(
    ("was", "now_off", "moves"),
    [(False, False, False), (False, True, True), (True, True, False), (True, False, True)],
)
def test_a_control_disable_moves_the_last_disable_when_it_begins_and_when_it_ends(
    was: bool, now_off: bool, moves: bool
) -> None:
    assert control_disable_moment(was, now_off, NOW) == (NOW if moves else None)


def test_off_by_control_is_only_a_disable_by_the_override_or_a_window() -> None:
    assert off_by_control(Verdict(False, "override"))
    assert off_by_control(Verdict(False, "schedule"))
    assert not off_by_control(Verdict(True, "override"))  # an enable
    assert not off_by_control(Verdict(False, "store"))
    assert not off_by_control(Verdict(False, "stale"))
