"""PortalState: what the gate reads; the poller publishes through `update` and `mark_ready`."""

from __future__ import annotations

import logging

import pytest

from gateway.config import SettingsConfig
from gateway.settings.poller import Poller
from gateway.settings.state import PortalState
from gateway.testing import MemorySource


def test_update_publishes_and_subscribers_hear_flips_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    state = PortalState("memory://")
    heard: list[bool] = []
    state.subscribe(heard.append)
    for enabled in (False, True, True, False):
        state.update(enabled)
    assert (state.enabled, heard) == (False, [True, False])
    assert [r.getMessage() for r in caplog.records] == [
        "customer portal enabled, cause store (source memory://)",
        "customer portal disabled, cause store (source memory://)",
    ]


def test_ready_turns_true_once_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="gateway.settings")
    state = PortalState("memory://")
    assert (state.ready, state.enabled) == (False, False)  # fail closed before any policy ran
    state.mark_ready()
    state.mark_ready()
    assert state.ready
    assert [r.getMessage() for r in caplog.records] == [
        "ready: first settings read finished (source memory://)"
    ]
    with pytest.raises(AttributeError):
        state.ready = False  # type: ignore[misc]


SETTINGS = SettingsConfig("file:///portal.json", options={"field": "enabled"})


def poller(source: MemorySource) -> Poller:
    return Poller(source, SETTINGS, jitter=lambda ttl: 0.0)


def test_a_new_state_is_closed_and_not_ready() -> None:
    state = PortalState("file:///portal.json")
    assert (state.enabled, state.ready, state.last_disabled_at) == (False, False, None)
    assert (state.last_error, state.last_success_at) == (None, None)


async def test_subscribers_hear_each_flip_once_and_a_failing_one_harms_no_other(
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = MemorySource(True)
    p = poller(source)
    heard: list[bool] = []

    def broken(enabled: bool) -> None:
        raise RuntimeError("subscriber bug")

    p.state.subscribe(broken)
    unsubscribe = p.state.subscribe(heard.append)
    caplog.set_level(logging.INFO, "gateway.settings")
    await p.refresh()
    await p.refresh()  # the same value: no flip, nobody told
    source.set(False)
    await p.refresh()
    assert heard == [True, False]
    assert p.state.ready and not p.state.enabled
    unsubscribe()
    unsubscribe()  # twice is harmless
    source.set(True)
    await p.refresh()
    assert heard == [True, False]
    messages = [r.getMessage() for r in caplog.records if r.name == "gateway.settings"]
    assert messages.count("customer portal state subscriber failed") == 3
    # The state names its store (a MemorySource calls itself memory://).
    assert messages.count("customer portal enabled, cause store (source memory://)") == 2
    assert messages.count("customer portal disabled, cause store (source memory://)") == 1
    assert messages.count("ready: first settings read finished (source memory://)") == 1
    await p.stop()


def test_the_cause_is_published_with_the_state_and_a_new_cause_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger="gateway.settings")
    state = PortalState("memory://")
    heard: list[bool] = []
    state.subscribe(heard.append)
    assert (state.enabled, state.cause) == (False, "cold_start")  # before any policy ran
    state.update(False, "cold_start")  # nothing new: no line
    state.update(True, "store")
    state.update(True, "store_unavailable")  # the same state for another reason
    state.update(False, "stale")
    assert (state.enabled, state.cause, heard) == (False, "stale", [True, False])
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "customer portal enabled, cause store (source memory://)"),
        ("INFO", "customer portal still enabled, cause now store_unavailable (source memory://)"),
        ("WARNING", "customer portal disabled, cause stale (source memory://)"),
    ]
    with pytest.raises(AttributeError):
        state.cause = "store"  # type: ignore[misc]
