"""The current config and the gate built from it, swapped whole on SIGHUP."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.config import Config
from gateway.policy.gate import Gate


@dataclass(frozen=True)
class Runtime:
    """One attribute store replaces both: a request sees the old pair or the new one."""

    config: Config
    gate: Gate
