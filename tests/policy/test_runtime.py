"""Runtime: the config and the gate built from it, replaced together, never edited."""

from __future__ import annotations

import dataclasses

import pytest

from gateway.config import parse_config
from gateway.policy.gate import Gate
from gateway.policy.runtime import Runtime
from tests.conftest import SESSION_KEY, config_text

CONFIG = parse_config(config_text("http://127.0.0.1:8081"), "t.yaml")


def test_a_runtime_is_one_value_a_request_reads_whole() -> None:
    runtime = Runtime(CONFIG, Gate(CONFIG, SESSION_KEY.encode()))
    assert runtime.config is CONFIG
    with pytest.raises(dataclasses.FrozenInstanceError):
        runtime.config = CONFIG  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        runtime.gate = Gate(CONFIG, SESSION_KEY.encode())  # type: ignore[misc]
