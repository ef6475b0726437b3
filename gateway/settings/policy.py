"""What the poller decides, as pure functions: no I/O, no clock, no asyncio.

Four questions, asked after every read attempt:
  * `effective_state`: what customers get now, from the last good reading, its age and whether
    the store is failing (the on_error / cold_start / max_stale policy);
  * `effective_cause`: why, as one word ops can tell apart (`Cause`);
  * `disable_moment`: whether this reading moves the record of the last disable, and to when
    (the security core: sessions that began before that moment are refused);
  * `should_save`: whether the state file must be rewritten.
The poller supplies the clocks and the readings; the truth tables in tests hold these rules.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from gateway.settings import Reading

OnError = Literal["last-known", "disabled", "enabled"]
ColdStart = Literal["disabled", "enabled"]
# Why the effective state is what it is. Customers get the same page whatever the cause; the
# state endpoint, readyz, the access log and the logs tell them apart. `override` and
# `schedule` are the operator controls', ranked over these in gateway/settings/ranking.py.
Cause = Literal["override", "schedule", "stale", "store_unavailable", "cold_start", "store"]
# Strongest first: when several hold, the first one listed names the cause.
CAUSES: tuple[Cause, ...] = (
    "override",
    "schedule",
    "stale",
    "store_unavailable",
    "cold_start",
    "store",
)

# A state file is rewritten at least this often while reads succeed, so that a restart can
# tell a fresh file from a stale one against max_stale.
SAVE_EVERY = 60.0


@dataclass(frozen=True)
class Known:
    """A trusted value and when it was read, on the poller's monotonic clock.

    Either a good read, or a state file young enough (against max_stale) to serve after a
    restart; its `read_at` is then the original read's moment, so it ages from that read.
    """

    enabled: bool
    read_at: float


def expires_at(known: Known, max_stale: float | None) -> float:
    """When a trusted value stops vouching for anything: `max_stale` after its read."""
    return known.read_at + max_stale if max_stale is not None else math.inf


def effective_state(
    known: Known | None,
    trusted_before: bool,
    failing: bool,
    *,
    on_error: OnError,
    cold_start: ColdStart,
) -> bool:
    """What customers get, in this order:

    1. the last read failed and `on_error` forces a value -> that value;
    2. nothing trusted yet (nothing read, no fresh state file) -> `cold_start`;
    3. a value was trusted but has expired (`expires_at`: older than `max_stale`) -> disabled;
    4. otherwise -> the trusted value (`on_error: last-known` keeps it through errors).

    SECURITY: no branch turns the portal on because of an error, except `on_error: enabled`,
    which ops choose explicitly.
    """
    if failing and on_error != "last-known":
        return on_error == "enabled"
    if known is None and not trusted_before:
        return cold_start == "enabled"
    if known is None:
        # SECURITY: the last good reading is too old to vouch for anything: fail closed.
        return False
    return known.enabled


def strongest(causes: Iterable[Cause]) -> Cause:
    """The highest-ranked of `causes` (CAUSES order); `store` when there are none."""
    return min(causes, key=CAUSES.index, default="store")


def effective_cause(
    known: Known | None, trusted_before: bool, failing: bool, *, on_error: OnError
) -> Cause:
    """Why `effective_state` gave what it gave (same arguments), the strongest that holds of:

    * `stale`: a trusted value expired (older than `max_stale`) and the stale rule decided;
      not when `on_error` forces a value through an error (the forced value decided);
    * `store_unavailable`: the last read failed (the value is `on_error`'s, or the last known
      kept, or the cold-start one while the store has never answered);
    * `cold_start`: nothing trusted yet, and no read has failed;
    * `store`: the trusted value, staff's setting (read, or from a fresh state file).
    """
    forced = failing and on_error != "last-known"
    holds: list[Cause] = []
    if known is None and trusted_before and not forced:
        holds.append("stale")
    if failing:
        holds.append("store_unavailable")
    if known is None and not trusted_before:
        holds.append("cold_start")
    return strongest(holds)


def restored_is_trusted(age: float, max_stale: float | None) -> bool:
    """Whether a state file `age` seconds old (wall clock) may serve its value after a restart.

    An older one still dates the last disable and is the baseline for detecting the next one,
    but the value it holds is not served: the cold-start policy applies instead.
    """
    return max_stale is None or age <= max_stale


def disable_moment(
    previous: Reading | None,
    reading: Reading,
    now: float,
    last_disabled_at: float | None,
    restored_success_at: float | None,
) -> float | None:
    """The latest moment the portal is known to have been off, if this reading moves it.

    `previous` is the last value this process knew (read, or restored from the state file,
    then without a change time, even when too old to serve); `now` the wall clock;
    `restored_success_at` the last good read the state file recorded, if one was restored.
    While disabled the moment is when the disable began; once re-enabled, when it ended:
    sessions that began before it are stale. The caller keeps the latest of these moments.
    """
    stamp = reading.changed_at if reading.changed_at is not None else now
    if not reading.enabled:
        if previous is None or previous.enabled or last_disabled_at is None:
            # SECURITY: a disable seen for the first time, even at the very first read,
            # invalidates every session from before it.
            return stamp
        if reading.changed_at is not None and reading.changed_at != previous.changed_at:
            return reading.changed_at  # off, on and off again between two polls
        return None  # still disabled, already recorded
    if previous is not None and not previous.enabled:
        # SECURITY: the disable ends here (at the store's change time when it has one). A
        # session that began before this moment began while the portal was off, even one
        # let in during the TTL before this process noticed the disable: it is stale too.
        return stamp
    if reading.changed_at is None:
        return None
    if previous is None:
        # SECURITY: first sight of the store, nothing remembered: the setting last changed
        # *to* enabled at changed_at, so it may have been off before then. Sessions older
        # than that cannot be told from ones that lived through a disable; they log in again.
        return reading.changed_at
    if previous.changed_at is None:
        # Restored from the state file: a change since our last good read means the portal
        # was switched off and on again while this process was not watching.
        if restored_success_at is not None and reading.changed_at > restored_success_at:
            return reading.changed_at
        return None
    if reading.changed_at > previous.changed_at:
        # Enabled before and now, but changed in between: disabled and re-enabled between two
        # polls. A disable happened; honour it.
        return reading.changed_at
    return None


def should_save(
    previous: Reading | None,
    reading: Reading,
    moved_disable: bool,
    last_success_at: float | None,
    now: float,
) -> bool:
    """Whether a good read must be written to the state file: the last disable moved, the
    value is new or changed, or the file's last success is more than SAVE_EVERY old."""
    return (
        moved_disable
        or previous is None
        or previous.enabled != reading.enabled
        or last_success_at is None
        or now - last_success_at > SAVE_EVERY
    )
