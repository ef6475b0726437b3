"""PortalState: what the gate reads; the poller publishes through `update` and `mark_ready`."""

from __future__ import annotations

import pytest

from gateway.settings.state import PortalState


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
        "customer portal enabled (source memory://)",
        "customer portal disabled (source memory://)",
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
