"""The YAML config: frozen records (`schema`), a pure parser (`loader`), and the load step that
reads files, package data and the environment (`resources`)."""

from gateway.config.loader import parse_config
from gateway.config.ports import Finding, Offline, Resources, SourceCatalog
from gateway.config.resources import LocalResources, config_from_text, load_config
from gateway.config.schema import (
    PROXIES,
    UNAVAILABLE_MESSAGE,
    Config,
    CustomerPortalConfig,
    ForwardAuthConfig,
    Proxy,
    ProxyConfig,
    Route,
    SettingsConfig,
    Upstream,
    Window,
    yaml_keys,
)
from gateway.config.yamlnodes import ConfigError, ConfigIssue

__all__ = [
    "PROXIES",
    "UNAVAILABLE_MESSAGE",
    "Config",
    "ConfigError",
    "ConfigIssue",
    "CustomerPortalConfig",
    "Finding",
    "ForwardAuthConfig",
    "LocalResources",
    "Offline",
    "Proxy",
    "ProxyConfig",
    "Resources",
    "Route",
    "SettingsConfig",
    "SourceCatalog",
    "Upstream",
    "Window",
    "config_from_text",
    "load_config",
    "parse_config",
    "yaml_keys",
]
