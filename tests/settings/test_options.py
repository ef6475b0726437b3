"""Each store's own `settings:` keys, judged by the registry without importing a driver."""

from __future__ import annotations

import sys

import pytest

from gateway.config import SettingsConfig
from gateway.settings import SOURCES, check_options, forgets_last_disable, make_source
from gateway.settings.options import FORGETS, select_columns, text

LINES = {SettingsConfig.SECTION: 3, SettingsConfig.HEADER: 2, "source": 3}


def settings(source: str, **options: object) -> SettingsConfig:
    lines = {**LINES, **{name: 10 + i for i, name in enumerate(options)}}
    return SettingsConfig(source=source, options=options, lines=lines)


def findings(cfg: SettingsConfig) -> list[str]:
    return [
        f"{f.line}: {f.key}: {'warning: ' if f.warning else ''}{f.message}"
        for f in SOURCES.check(cfg)
    ]


@pytest.mark.parametrize(
    ("cfg", "expected"),
    [
        (settings("http://s/x", field="on", changed_at_field="at"), []),
        (
            settings("https://s/x", changed_at_field="at"),
            ["3: settings.field: required for https:// sources (e.g. enabled)"],
        ),
        (
            settings("file:///s.json", field="on", query="SELECT 1", changed_at_field="at"),
            ["11: settings.query: only used by sqlite/postgresql/mysql sources"],
        ),
        (
            settings("sqlite:///s.db", query="SELECT a, b", field="on"),
            ["11: settings.field: only used by http/https/file sources"],
        ),
        (settings("redis://cache/0", key=5), ["10: settings.key: expected a Redis key, got 5"]),
        (
            settings("redis://cache/0", keys="k"),
            [
                "3: settings.key: required for redis:// sources",
                "10: settings.keys: unknown key (did you mean 'key'?)",
            ],
        ),
        (
            settings("gopher://x", field="on", qury="x"),
            [
                "3: settings.source: unsupported scheme 'gopher'; expected one of http, https, "
                "file, sqlite, postgresql, mysql, redis",
                "11: settings.qury: unknown key (did you mean 'query'?)",
            ],
        ),
        (
            settings("mysql://db/x", query="SELECT enabled FROM s"),
            [
                "2: settings: warning: the query returns no change time (a second column) and "
                f"settings.state_file is not set: {FORGETS}"
            ],
        ),
    ],
)
def test_each_store_judges_its_own_options(cfg: SettingsConfig, expected: list[str]) -> None:
    assert sorted(findings(cfg), key=lambda f: int(f.split(":")[0])) == expected


@pytest.mark.parametrize(
    ("source", "blocked", "extra"),
    [
        ("postgresql://db/x", "asyncpg", "postgresql"),
        ("postgresql+asyncpg://db/x", "asyncpg", "postgresql"),
        ("mysql://db/x", "pymysql", "mysql"),
        ("mysql://db/x", "aiomysql", "mysql"),
        ("redis://cache/0", "redis", "redis"),
    ],
)
def test_a_store_whose_driver_is_missing_names_its_extra(
    monkeypatch: pytest.MonkeyPatch, source: str, blocked: str, extra: str
) -> None:
    cfg = settings(source, query="SELECT 1, 2", key="k")
    own = [f for f in check_options(cfg) if f.key == "settings.source"]
    assert own == []
    monkeypatch.setitem(sys.modules, blocked, None)  # what an uninstalled module looks like
    missing = [f for f in check_options(cfg) if f.key == "settings.source"]
    assert [(f.line, f.message) for f in missing] == [(3, f"needs portal-gateway[{extra}]")]
    with pytest.raises(ValueError, match=rf"settings\.source: needs portal-gateway\[{extra}\]"):
        make_source(cfg)


def test_make_source_refuses_options_the_store_refuses() -> None:
    with pytest.raises(ValueError, match=r"^settings\.query: required for sqlite:// sources$"):
        make_source(SettingsConfig(source="sqlite:///s.db"))


@pytest.mark.parametrize(
    ("query", "columns"),
    [
        ("SELECT enabled FROM s", 1),
        ("select a, b from s", 2),
        ("SELECT coalesce(a, 'x,y') FROM s", 1),
        ("SELECT * FROM s", None),
        ("WITH x AS (SELECT 1) SELECT * FROM x", None),
    ],
)
def test_select_columns(query: str, columns: int | None) -> None:
    assert select_columns(query) == columns


def test_what_forgets_the_last_disable() -> None:
    assert forgets_last_disable(settings("http://s/x", field="on")) is not None
    assert forgets_last_disable(settings("http://s/x", field="on", changed_at_field="a")) is None
    kept = SettingsConfig(source="http://s/x", state_file="/s.json", options={"field": "on"})
    assert forgets_last_disable(kept) is None
    assert forgets_last_disable(settings("redis://c/0", key="k")) is None  # told at first read
    assert forgets_last_disable(SettingsConfig(source="memory://")) is None


def test_text_reads_a_string_option_or_the_default() -> None:
    cfg = settings("http://s/x", field="on", changed_at_field=5)
    assert text(cfg, "field") == "on"
    assert text(cfg, "changed_at_field", "d") == "d"
    assert text(cfg, "missing") is None
