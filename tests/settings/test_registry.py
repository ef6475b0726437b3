"""The package's core: the flag values a store may hold, and the source registry by URL scheme."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.config import SettingsConfig
from gateway.settings import (
    REGISTRY,
    SettingsUnavailable,
    forgets_last_disable,
    make_source,
    parse_flag,
)
from gateway.settings.file import FileSource
from gateway.settings.http import HttpSource
from gateway.settings.options import FORGETS
from gateway.settings.redis import RedisSource
from gateway.settings.sql import SqlSource


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (1, True),
        ("true", True),
        ("TRUE", True),
        (" ON ", True),
        ("yes", True),
        ("1", True),
        (b"1", True),
        (b" true\n", True),
        (False, False),
        (0, False),
        ("false", False),
        ("Off", False),
        ("no", False),
        ("0", False),
        (b"0", False),
        (b"off", False),
    ],
)
def test_parse_flag_values(value: object, expected: bool) -> None:
    assert parse_flag(value) is expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        " ",
        "0.0",
        "2",
        2,
        -1,
        0.5,
        1.0,
        "disabled",
        "enabled",
        "n",
        "y",
        [],
        [True],
        {},
        {"enabled": True},
        "<html><body>true</body></html>",
        b"\xff",
        b"",
    ],
)
def test_parse_flag_rejects_everything_else(value: object) -> None:
    # SECURITY: none of these may become a state, however "truthy" or "falsy" Python finds them.
    with pytest.raises(SettingsUnavailable, match=r"^value: (expected true/false, |not UTF-8)"):
        parse_flag(value)


def test_parse_flag_shortens_what_it_quotes() -> None:
    with pytest.raises(SettingsUnavailable) as info:
        parse_flag("<html>" + "x" * 500, "http://store/s")
    assert str(info.value).startswith("http://store/s: expected true/false")
    assert len(str(info.value)) < 160


@pytest.mark.parametrize(
    ("source", "options", "kind"),
    [
        ("http://store/s", {"field": "enabled"}, HttpSource),
        ("HTTPS://store/s", {"field": "enabled"}, HttpSource),
        ("file:///srv/s.yaml", {"field": "enabled"}, FileSource),
        ("sqlite:///s.db", {"query": "SELECT 1"}, SqlSource),
        ("postgresql://u:pw@db/x", {"query": "SELECT 1"}, SqlSource),
        ("postgresql+asyncpg://db/x", {"query": "SELECT 1"}, SqlSource),
        ("mysql://root@db/x", {"query": "SELECT 1"}, SqlSource),
        ("redis://:pw@cache:6379/0", {"key": "k"}, RedisSource),
    ],
)
async def test_make_source_by_scheme_connects_nothing_and_masks(
    source: str, options: dict[str, Any], kind: type
) -> None:
    made = make_source(SettingsConfig(source=source, options=options))
    try:
        assert isinstance(made, kind)
        assert ":pw@" not in made.description
    finally:
        await made.aclose()


@pytest.mark.parametrize("source", ["ftp://x/y", "consul://x", "no-scheme", "", "memory://"])
def test_make_source_refuses_unknown_schemes(source: str) -> None:
    with pytest.raises(
        ValueError, match=r"^unsupported settings source scheme .*; expected one of"
    ):
        make_source(SettingsConfig(source=source))


def test_every_registered_store_declares_its_options_and_can_be_made() -> None:
    import importlib

    for scheme, module in REGISTRY.items():
        store = importlib.import_module(module)
        assert callable(store.create), scheme
        assert all(option.expected for option in store.SCHEMA.options), scheme


NO_TIME = f"neither settings.changed_at_field nor settings.state_file is set: {FORGETS}"
ONE_COLUMN = (
    "the query returns no change time (a second column) and settings.state_file is not "
    f"set: {FORGETS}"
)


@pytest.mark.parametrize(
    ("settings", "why"),
    [
        (SettingsConfig("https://s/x", options={"field": "on"}), NO_TIME),
        (SettingsConfig("file:///s.json", options={"field": "on"}), NO_TIME),
        (SettingsConfig("https://s/x", options={"field": "on", "changed_at_field": "at"}), None),
        (SettingsConfig("https://s/x", options={"field": "on"}, state_file="/var/s.json"), None),
        (
            SettingsConfig("postgresql+asyncpg://db/x", options={"query": "select on from s"}),
            ONE_COLUMN,
        ),
        (SettingsConfig("mysql://db/x", options={"query": "SELECT `a,b` FROM s"}), ONE_COLUMN),
        (SettingsConfig("sqlite:///s.db", options={"query": "SELECT f(a, b) FROM s;"}), ONE_COLUMN),
        (SettingsConfig("sqlite:///s.db", options={"query": "SELECT a, (b) FROM s"}), None),
        (
            SettingsConfig("sqlite:///s.db", options={"query": "SELECT * FROM s"}),
            None,
        ),  # cannot tell
        (
            SettingsConfig(
                "sqlite:///s.db", options={"query": "WITH x AS (SELECT 1) SELECT * FROM x"}
            ),
            None,
        ),
        (
            SettingsConfig("redis://cache/0", options={"key": "k"}),
            None,
        ),  # the poller tells at its first read
    ],
)
def test_forgets_last_disable(settings: SettingsConfig, why: str | None) -> None:
    assert forgets_last_disable(settings) == why
