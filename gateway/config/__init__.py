"""The YAML config: frozen records, validated once at start-up (see `loader`)."""

from gateway.config.loader import (
    PROXIES,
    UNAVAILABLE_MESSAGE,
    Config,
    ConfigError,
    ConfigIssue,
    CustomerPortalConfig,
    ForwardAuthConfig,
    Proxy,
    ProxyConfig,
    Route,
    SettingsConfig,
    Upstream,
    load_config,
    parse_config,
)

__all__ = [
    "PROXIES",
    "UNAVAILABLE_MESSAGE",
    "Config",
    "ConfigError",
    "ConfigIssue",
    "CustomerPortalConfig",
    "ForwardAuthConfig",
    "Proxy",
    "ProxyConfig",
    "Route",
    "SettingsConfig",
    "Upstream",
    "load_config",
    "parse_config",
]
