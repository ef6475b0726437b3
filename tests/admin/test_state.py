"""`/_gateway/state`'s document: every field, from the poller's state and the running config."""

from __future__ import annotations

import json

from gateway import __version__
from gateway.admin.state import state_document
from gateway.config import config_from_text
from gateway.settings.state import PortalState
from tests.conftest import config_text

CONFIG = config_from_text(config_text("http://127.0.0.1:8081"), "test.yaml")


def test_a_process_that_has_read_nothing_says_so_with_nulls() -> None:
    assert state_document(PortalState("memory://"), CONFIG, 4242) == {
        "effective": "disabled",
        "cause": "cold_start",
        "store_value": None,
        "store_changed_at": None,
        "last_read_at": None,
        "last_success_at": None,
        "last_error": None,
        "last_disabled_at": None,
        "override": None,
        "retry_at": None,
        "self_check": None,
        "mode": "enforce",
        "version": __version__,
        "config_digest": CONFIG.digest,
        "worker": 4242,
    }


def test_a_store_outage_keeps_what_the_store_last_said_beside_the_error() -> None:
    state = PortalState("memory://")
    state.update(True, "store_unavailable")
    state.store_value, state.store_changed_at = True, 1_796_116_500.0
    state.last_read_at, state.last_success_at = 1_796_120_000.5, 1_796_119_990.0
    state.last_disabled_at = 1_796_116_500.0
    state.last_error = "memory://: connection refused"
    document = state_document(state, CONFIG, 7)
    assert {k: document[k] for k in list(document)[:8]} == {
        "effective": "enabled",
        "cause": "store_unavailable",
        "store_value": "enabled",
        "store_changed_at": "2026-12-01T09:15:00.000Z",
        "last_read_at": "2026-12-01T10:13:20.500Z",
        "last_success_at": "2026-12-01T10:13:10.000Z",
        "last_error": "memory://: connection refused",
        "last_disabled_at": "2026-12-01T09:15:00.000Z",
    }
    assert len(CONFIG.digest) == 64 and int(CONFIG.digest, 16) >= 0
    json.dumps(document)  # plain JSON, nothing that needs an encoder
