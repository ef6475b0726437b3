"""The operator controls over the store's decision, as pure functions: no I/O, no clock.

`rank` takes what the store policy decided (gateway/settings/policy.py: the effective state and
its cause), the timed override, the scheduled window in force, and returns what customers get,
why, what the page says and when the portal is expected back. Causes rank `override` >
`schedule` > `stale` > `store_unavailable` > `cold_start` > `store` (policy.CAUSES):

  * an override `disable` wins over everything until it ends or is cleared;
  * inside a schedule window the portal is off whatever the store says;
  * an override `enable` turns the portal on only where the portal is off for want of a
    trustworthy reading (`stale`, `store_unavailable`, `cold_start`) and the store's last good
    answer is not "disabled": it keeps customers served through a store outage, it never
    overrules staff, nor a window;
  * otherwise the store policy decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.config import Window
from gateway.settings.control import Override
from gateway.settings.policy import Cause

# The causes an `override enable` may cover: none of them is staff's decision.
UNTRUSTED: frozenset[Cause] = frozenset({"stale", "store_unavailable", "cold_start"})


@dataclass(frozen=True)
class Verdict:
    """What customers get, why, the page's note and the expected return (epoch seconds)."""

    enabled: bool
    cause: Cause
    message: str | None = None
    retry_at: float | None = None


def window_at(schedule: Sequence[Window], now: float) -> Window | None:
    """The window in force at `now` (windows never overlap: the config refuses it)."""
    return next((w for w in schedule if w.covers(now)), None)


def next_boundary(
    schedule: Sequence[Window], override: Override | None, now: float
) -> float | None:
    """The next moment after `now` a window or the override starts or ends: the poller wakes
    then, so the state flips on time rather than up to a TTL late."""
    moments = [t for w in schedule for t in (w.starts, w.ends) if t > now]
    if override is not None and override.until > now:
        moments.append(override.until)
    return min(moments, default=None)


def live_override(override: Override | None, now: float) -> Override | None:
    """The override while it lasts; None once it has expired (it ends by itself)."""
    return override if override is not None and override.active(now) else None


def enable_refused(store_value: bool | None) -> bool:
    """SECURITY: whether an `override enable` must be refused (by the CLI) and ignored (by the
    gateway): the store's last good answer says disabled, and staff's setting is never
    overruled."""
    return store_value is False


def rank(
    enabled: bool,
    cause: Cause,
    *,
    store_value: bool | None,
    store_message: str | None,
    override: Override | None,
    window: Window | None,
) -> Verdict:
    """What customers get, from the store policy's `enabled`/`cause` and the controls in force
    (`override` already checked live, `window` the one covering now, or None)."""
    notes: list[str | None] = []
    if override is not None and override.action == "disable":
        # SECURITY: ops switched it off: nothing below can switch it back on.
        notes = [override.message, window.message if window else None, store_message]
        return Verdict(False, "override", _first(notes), override.until)
    if window is not None:
        # SECURITY: a window disables whatever the store or an `override enable` says.
        return Verdict(False, "schedule", _first([window.message, store_message]), window.ends)
    if (
        override is not None
        and override.action == "enable"
        and cause in UNTRUSTED
        and not enable_refused(store_value)
    ):
        # Only where no trustworthy reading decided, and the last one did not say disabled.
        return Verdict(True, "override", store_message, None)
    return Verdict(enabled, cause, store_message, None)


def control_disable_moment(was_off: bool, is_off: bool, now: float) -> float | None:
    """Whether a publish moves the record of the last disable, and to when.

    `was_off`/`is_off`: whether the portal was/is off because of the override or a window.
    SECURITY: a scheduled or override disable is a disable, as a store one is: when it begins,
    sessions from before it are stale; when it ends, so is every session that began before the
    end (whatever was let in during the TTL before this process noticed).
    """
    return now if was_off != is_off else None


def last_control_end(
    schedule: Sequence[Window], override: Override | None, now: float
) -> float | None:
    """The latest end, at or before `now`, of a window or of a disable override (the file's,
    live or not): a disable this process may never have seen running.

    SECURITY: a replica started after a window or an override ended (no state file, or an
    older one) still holds sessions from before that end stale, as the replicas that saw it do.
    """
    ends = [w.ends for w in schedule if w.ends <= now]
    if override is not None and override.action == "disable" and override.until <= now:
        ends.append(override.until)
    return max(ends, default=None)


def off_by_control(verdict: Verdict) -> bool:
    return not verdict.enabled and verdict.cause in ("override", "schedule")


def _first(notes: Sequence[str | None]) -> str | None:
    return next((n for n in notes if n), None)
