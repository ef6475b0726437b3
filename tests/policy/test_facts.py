"""GateState.straddles_disable: the truth table an exchange's session depends on."""

from __future__ import annotations

import dataclasses

import pytest

from gateway.policy.facts import GateState, RequestFacts, gate_state
from gateway.settings.control import Override
from gateway.settings.state import PortalState

STARTED = 100.0


@pytest.mark.parametrize(
    ("enabled", "last_disabled_at", "straddles"),
    [
        (True, None, False),  # never disabled
        (False, None, True),  # disabled now
        (False, 50.0, True),
        (True, 50.0, False),  # the disable ended before the exchange began
        (True, STARTED, True),  # ... at the very moment it began: still counts
        (True, 150.0, True),  # a quick off-on while it ran
    ],
)
def test_straddles_disable(enabled: bool, last_disabled_at: float | None, straddles: bool) -> None:
    assert GateState(enabled, last_disabled_at).straddles_disable(STARTED) is straddles


def test_facts_are_frozen_and_default_to_a_proxy_request_without_framing_facts() -> None:
    facts = RequestFacts("GET", "/", ("h",), (), "", "203.0.113.7", False, 1.0)
    assert (facts.front_end, facts.http_version, facts.transfer_codings) == ("proxy", None, ())
    assert (facts.has_body, facts.via_loop) == (False, False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        facts.method = "POST"  # type: ignore[misc]


def test_gate_state_reads_the_portal_state_as_one_value() -> None:
    state = PortalState("file:///s.json")
    state.last_disabled_at = 5.0
    state.preview_generation, state.message, state.retry_at = 2, "Back soon", 9.0
    state.override = Override("disable", 9.0, "billing")
    assert gate_state(state) == GateState(
        enabled=False,
        last_disabled_at=5.0,
        cause="cold_start",
        preview_generation=2,
        message="Back soon",
        retry_at=9.0,
    )
