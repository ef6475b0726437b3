"""The records are the schema: each section's keys come from its fields, and the README's
key table lists exactly those keys."""

from __future__ import annotations

import importlib
import re
from dataclasses import FrozenInstanceError

import pytest

from gateway.config import (
    Config,
    CustomerPortalConfig,
    ForwardAuthConfig,
    ProxyConfig,
    Route,
    SettingsConfig,
    Upstream,
    yaml_keys,
)
from gateway.config.schema import SECTIONS
from gateway.settings import REGISTRY
from tests.conftest import ROOT


def test_top_level_keys_come_from_the_config_record() -> None:
    # file and warnings are computed; listen_host and listen_port are both read from `listen`.
    assert yaml_keys(Config) == (
        "listen",
        "upstreams",
        "settings",
        "routes",
        "customer_portal",
        "proxy",
        "admin_prefix",
        "server_names",
        "admin_listen",
        "admin_public",
        "forward_auth",
        "log_format",
        "log_query",
    )


def test_section_keys_come_from_their_records() -> None:
    assert yaml_keys(Route) == (
        "name",
        "paths",
        "upstream",
        "portal",
        "hosts",
        "methods",
        "client_max_size",
    )
    assert yaml_keys(SettingsConfig) == (
        "source",
        "ttl",
        "timeout",
        "on_error",
        "cold_start",
        "max_stale",
        "state_file",
        "max_override",
    )
    # session_key_env is an alias: it names the variable the key is read from.
    assert yaml_keys(CustomerPortalConfig)[-3:] == (
        "stamp_cookie",
        "session_key",
        "session_key_env",
    )
    assert "unavailable_html" not in yaml_keys(CustomerPortalConfig)
    assert yaml_keys(ForwardAuthConfig) == ("proxy",)
    assert len(yaml_keys(ProxyConfig)) == 16


def test_records_are_frozen() -> None:
    with pytest.raises(FrozenInstanceError):
        ProxyConfig().via = "x"  # type: ignore[misc]


def test_reprs_mask_passwords_and_hide_secrets() -> None:
    assert repr(Upstream("portal", "http://u:pw@h:1")) == (
        "Upstream(name='portal', url='http://u:***@h:1')"
    )
    settings = SettingsConfig(source="redis://:pw@cache:6379/0", options={"key": "k"})
    assert ":pw@" not in repr(settings)
    assert "redis://:***@cache:6379/0" in repr(settings)
    portal = CustomerPortalConfig(session_key=b"s" * 40, unavailable_html="<h1>page</h1>")
    assert "s" * 40 not in repr(portal)
    assert "<h1>" not in repr(portal)


def test_a_settings_line_falls_back_to_the_section() -> None:
    settings = SettingsConfig(source="x", lines={SettingsConfig.SECTION: 7, "source": 8})
    assert (settings.line("source"), settings.line("query")) == (8, 7)
    assert SettingsConfig(source="x").line("query") == 1


def schema_keys() -> set[str]:
    """Every documented key: the top level, each section's, and each store's own options."""
    out = {k for k in yaml_keys(Config) if k not in ("settings", "routes") and k not in SECTIONS}
    for section, record in SECTIONS.items():
        out |= {f"{section}.{k}" for k in yaml_keys(record)}
    for module in set(REGISTRY.values()):
        out |= {f"settings.{name}" for name in importlib.import_module(module).SCHEMA.names()}
    return out


def readme_keys() -> set[str]:
    text = (ROOT / "README.md").read_text()
    table = text[text.index("| key | default | meaning |") :].split("\n\n", 1)[0]
    out: set[str] = set()
    for row in table.splitlines()[2:]:
        cell = row.split("|")[1]
        names = re.findall(r"`([^`]+)`", cell)
        section = names[0].rsplit(".", 1)[0] if "." in names[0] else ""
        for name in names:
            full = name if "." in name or not section else f"{section}.{name}"
            out.add(full.removesuffix(".NAME"))  # upstreams.NAME: the map's own entries
    return out


def test_the_readme_key_table_matches_the_schema() -> None:
    documented, schema = readme_keys(), schema_keys()
    assert sorted(documented - schema) == [], "in the README, not in the schema"
    assert sorted(schema - documented) == [], "in the schema, not in the README"
    assert "customer_portal.session_key_env" in documented
    assert "settings.query" in documented
