"""Checks across keys: listeners that clash, settings whose restart forgets the last disable."""

from __future__ import annotations

import pytest

from gateway.config import SettingsConfig
from gateway.config.crosschecks import FORGETS, forgets_last_disable, listener_clash


@pytest.mark.parametrize(
    ("listen", "admin", "clash"),
    [
        (("127.0.0.1", 8080), ("127.0.0.1", 8081), None),
        (("127.0.0.1", 0), ("127.0.0.1", 0), None),  # two free ports
        (("127.0.0.1", 8080), ("127.0.0.2", 8080), None),
        (("example.com", 8080), ("other.example", 8080), None),
        (
            ("Example.com", 8080),
            ("example.COM", 8080),
            "example.COM:8080 is the address of listen (Example.com:8080); the reserved "
            "endpoints need a listener of their own (another port)",
        ),
        (
            ("localhost", 8080),
            ("::1", 8080),
            "[::1]:8080 is the address of listen (localhost:8080); the reserved endpoints "
            "need a listener of their own (another port)",
        ),
        (
            ("::", 9000),
            ("10.0.0.5", 9000),
            "10.0.0.5:9000 overlaps listen ([::]:9000): :: is every address, so both would "
            "take port 9000; use another port",
        ),
        (
            ("10.0.0.5", 9000),
            ("0.0.0.0", 9000),
            "0.0.0.0:9000 overlaps listen (10.0.0.5:9000): 0.0.0.0 is every address, so both "
            "would take port 9000; use another port",
        ),
    ],
)
def test_listener_clash(listen: tuple[str, int], admin: tuple[str, int], clash: str | None) -> None:
    assert listener_clash(listen, admin) == clash


NO_TIME = f"neither settings.changed_at_field nor settings.state_file is set: {FORGETS}"
ONE_COLUMN = (
    "the query returns no change time (a second column) and settings.state_file is not "
    f"set: {FORGETS}"
)


@pytest.mark.parametrize(
    ("settings", "why"),
    [
        (SettingsConfig("https://s/x", field="on"), NO_TIME),
        (SettingsConfig("file:///s.json", field="on"), NO_TIME),
        (SettingsConfig("https://s/x", field="on", changed_at_field="at"), None),
        (SettingsConfig("https://s/x", field="on", state_file="/var/s.json"), None),
        (SettingsConfig("postgresql+asyncpg://db/x", query="select on from s"), ONE_COLUMN),
        (SettingsConfig("mysql://db/x", query="SELECT `a,b` FROM s"), ONE_COLUMN),
        (SettingsConfig("sqlite:///s.db", query="SELECT f(a, b) FROM s;"), ONE_COLUMN),
        (SettingsConfig("sqlite:///s.db", query="SELECT a, (b) FROM s"), None),
        (SettingsConfig("sqlite:///s.db", query="SELECT * FROM s"), None),  # cannot tell
        (SettingsConfig("sqlite:///s.db", query="WITH x AS (SELECT 1) SELECT * FROM x"), None),
        (SettingsConfig("redis://cache/0", key="k"), None),  # the poller tells at its first read
    ],
)
def test_forgets_last_disable(settings: SettingsConfig, why: str | None) -> None:
    assert forgets_last_disable(settings) == why
