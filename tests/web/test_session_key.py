"""The stamps' key: the configured one, or a random key per process with a warning."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from gateway.config import config_from_text
from gateway.web.session_key import session_key
from tests.conftest import SESSION_KEY, config_text

LOG = logging.getLogger("tests.session_key")
CONFIG = config_from_text(config_text("http://127.0.0.1:8081"), "t.yaml")


def test_the_configured_key_is_used_without_a_word(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, LOG.name)
    assert session_key(CONFIG, LOG, "processes") == SESSION_KEY.encode()
    assert caplog.records == []


def test_without_one_each_call_is_a_random_key_and_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = replace(CONFIG, customer_portal=replace(CONFIG.customer_portal, session_key=None))
    caplog.set_level(logging.WARNING, LOG.name)
    first, second = (session_key(config, LOG, "gateway processes") for _ in range(2))
    assert len(first) == 32 and first != second
    assert [r.getMessage() for r in caplog.records] == [
        "no customer_portal.session_key (or PORTAL_GATEWAY_SESSION_KEY): using a random key; "
        "session stamps will not survive a restart or agree across gateway processes"
    ] * 2
