"""The controls laid over the store's decision for one poller: the published state, the page's
note and return time, and the record of the last disable."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from gateway.config import Window
from gateway.settings.control import Control, Override, save_control
from gateway.settings.overlay import Overlay
from gateway.settings.state import PortalState

NOW = 1_800_000_000.0


async def test_an_override_disable_is_a_disable_from_its_start_to_its_end(tmp_path: Path) -> None:
    path = str(tmp_path / "control.json")
    save_control(path, Control(Override("disable", NOW + 300, "why", "Back soon"), 3))
    overlay, state = Overlay(path), PortalState("memory://")
    state.store_value, state.last_disabled_at = True, NOW - 3600
    await overlay.refresh(state, 0.0)
    assert state.preview_generation == 3
    assert overlay.publish(state, True, "store", NOW)
    assert (state.enabled, state.cause, state.message, state.retry_at) == (
        False,
        "override",
        "Back soon",
        NOW + 300,
    )
    assert state.override is not None and state.override.reason == "why"
    assert state.last_disabled_at == NOW  # sessions from before the override are stale
    assert not overlay.publish(state, True, "store", NOW + 100)  # still off: recorded already
    assert state.last_disabled_at == NOW
    # It ends by itself: no new read of the file needed.
    assert overlay.publish(state, True, "store", NOW + 300)
    assert (state.enabled, state.cause) == (True, "store")
    assert state.override is None and state.retry_at is None
    assert state.last_disabled_at == NOW + 300  # what began before the end is stale too
    assert overlay.next_boundary(NOW + 300) is None


def test_a_window_disables_whatever_the_store_says_and_flips_back_at_its_end() -> None:
    window = Window(starts=NOW, ends=NOW + 60, message="Holidays", offset=3600)
    overlay, state = Overlay(None, (window,)), PortalState("memory://")
    state.store_value, state.store_message = True, "staff note"
    assert not overlay.publish(state, True, "store", NOW - 1)
    assert (state.enabled, state.message) == (True, "staff note")
    assert overlay.next_boundary(NOW - 1) == NOW
    assert overlay.publish(state, True, "store", NOW)
    assert (state.enabled, state.cause, state.message, state.retry_at) == (
        False,
        "schedule",
        "Holidays",
        NOW + 60,
    )
    assert state.retry_offset == timedelta(hours=1)  # the page says when, as the config wrote it
    assert overlay.publish(state, True, "store", NOW + 60)
    assert (state.enabled, state.cause, state.last_disabled_at) == (True, "store", NOW + 60)
    assert state.retry_offset is None


async def test_an_override_enable_is_ignored_while_the_store_says_disabled(tmp_path: Path) -> None:
    path = str(tmp_path / "control.json")
    save_control(path, Control(Override("enable", NOW + 300, "outage")))
    overlay, state = Overlay(path), PortalState("memory://")
    await overlay.refresh(state, 0.0)
    state.store_value = False
    overlay.publish(state, False, "store_unavailable", NOW)
    assert (state.enabled, state.cause) == (False, "store_unavailable")
    state.store_value = None  # never read: the outage an enable is for
    overlay.publish(state, False, "cold_start", NOW)
    assert (state.enabled, state.cause, state.last_disabled_at) == (True, "override", None)


def test_a_window_that_ended_before_this_process_started_is_still_a_disable() -> None:
    # A replica (re)started after a window, with no state file or an older one, must hold
    # sessions from before the window stale, as the replicas that saw the window do.
    window = Window(starts=NOW - 7200, ends=NOW - 3600, message="Upgrade")
    overlay, state = Overlay(None, (window,)), PortalState("memory://")
    state.store_value, state.last_disabled_at = True, NOW - 86400
    assert overlay.publish(state, True, "store", NOW)
    assert (state.enabled, state.last_disabled_at) == (True, NOW - 3600)
    assert not overlay.publish(state, True, "store", NOW + 1)  # recorded once
    later = Window(starts=NOW + 10, ends=NOW + 20)
    overlay.schedule = (later,)  # a reload dropping the past window never moves it back
    assert not overlay.publish(state, True, "store", NOW + 5)
    assert state.last_disabled_at == NOW - 3600


async def test_an_override_disable_that_ended_unseen_is_still_a_disable(tmp_path: Path) -> None:
    path = str(tmp_path / "control.json")
    save_control(path, Control(Override("disable", NOW - 600, "billing", at=NOW - 4000), 0))
    overlay, state = Overlay(path), PortalState("memory://")
    state.store_value = True
    await overlay.refresh(state, 0.0)
    assert overlay.publish(state, True, "store", NOW)
    assert (state.enabled, state.last_disabled_at) == (True, NOW - 600)
    # An `enable` override that ended is no disable.
    save_control(path, Control(Override("enable", NOW - 60, "outage", at=NOW - 500), 0))
    await overlay.refresh(state, 0.0)
    assert not overlay.publish(state, True, "store", NOW + 1)
    assert state.last_disabled_at == NOW - 600
