"""`forward_auth:` in the config file, and the warning `check` gives about it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.cli.main import main
from gateway.config import UNAVAILABLE_MESSAGE as MESSAGE
from gateway.config import Config, ConfigError, config_from_text, load_config
from tests.conftest import config_text

URL = "http://127.0.0.1:8081"
BASE = config_text(URL)
# An admin listener, as a forward-auth deployment has (these tests only parse: nothing binds).
ADMIN = {"admin_listen": "127.0.0.1:0"}


def parse(extra: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        config_from_text(config_text(URL, extra), "cfg.yaml")
    return [str(i) for i in info.value.issues]


def ours(config: Config) -> list[str]:
    """This module's warnings (the settings section and the routes have their own)."""
    return [str(w) for w in config.warnings if not w.key.startswith(("settings", "routes"))]


def line_of(text: str, needle: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), 1) if needle in ln)


def test_an_unknown_proxy_is_an_error_with_a_did_you_mean() -> None:
    text = config_text(URL, {"forward_auth": {"proxy": "ngnix"}})
    assert parse({"forward_auth": {"proxy": "ngnix"}}) == [
        f"cfg.yaml:{line_of(text, 'ngnix')}: forward_auth.proxy: expected nginx | traefik | "
        "caddy | envoy, got 'ngnix' (did you mean 'nginx'?)"
    ]
    text = config_text(URL, {"forward_auth": {"porxy": "envoy"}})
    assert parse({"forward_auth": {"porxy": "envoy"}}) == [
        f"cfg.yaml:{line_of(text, 'porxy')}: forward_auth.porxy: unknown key (did you mean 'proxy'?)"
    ]
    assert parse({"forward_auth": "envoy"})[0].endswith(
        "forward_auth: expected a mapping, got 'envoy'"
    )


def test_the_proxy_is_recorded_and_unset_by_default() -> None:
    assert config_from_text(BASE, "cfg.yaml").forward_auth.proxy is None
    extra = {"forward_auth": {"proxy": "caddy"}, "proxy": {"trusted_proxies": ["10.0.0.0/8"]}}
    config = config_from_text(config_text(URL, {**extra, **ADMIN}), "cfg.yaml")
    assert (config.forward_auth.proxy, ours(config)) == ("caddy", [])


def test_check_warns_when_no_proxy_can_be_trusted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "gw.yaml"
    path.write_text(config_text(URL, {"forward_auth": {"proxy": "traefik"}, **ADMIN}))
    assert main(["check", "--config", str(path)]) == 0
    out, err = capsys.readouterr()
    line = line_of(path.read_text(), "traefik")
    assert [e for e in err.splitlines() if "forward_auth" in e] == [
        f"{path}:{line}: forward_auth.proxy: warning: proxy.trusted_proxies is empty, so "
        "/_gateway/decision answers every request 403; list the address traefik connects from"
    ]
    assert out.startswith(f"{path}: OK")


def test_the_shipped_gateway_side_example_is_valid_and_warns_only_of_its_one_host() -> None:
    config = load_config("config/forward-auth.yaml")
    # One host for staff and customers, as the proxy examples serve them: check says so.
    assert (config.forward_auth.proxy, [w.key for w in config.warnings]) == (
        "nginx",
        ["routes[1].hosts"],
    )
    assert config.admin_listen == ("127.0.0.1", 8082)
    public = next(r for r in config.routes if r.portal == "public")
    assert {"/favicon.ico", "/robots.txt"} <= set(public.paths)


def test_check_warns_when_the_page_cannot_ride_in_an_nginx_header(tmp_path: Path) -> None:
    page = tmp_path / "big.html"
    page.write_text(MESSAGE + "<!--" + "x" * 30_000 + "-->")
    behind = {"proxy": {"trusted_proxies": ["10.0.0.0/8"]}, **ADMIN}
    text = config_text(
        "http://127.0.0.1:8081",
        {"forward_auth": {"proxy": "nginx"}, **behind},
        portal={"unavailable_page": str(page)},
    )
    config = config_from_text(text, "cfg.yaml")
    assert ours(config) == [
        f"cfg.yaml:{line_of(text, 'unavailable_page:')}: customer_portal.unavailable_page: "
        f"warning: {len(page.read_bytes())} bytes: behind nginx the page travels in a header of the decision, and the "
        "example's proxy_buffer_size (32k) needs it under 24576 bytes"
    ]
    caddy_text = config_text(
        "http://127.0.0.1:8081",
        {"forward_auth": {"proxy": "caddy"}, **behind},
        portal={"unavailable_page": str(page)},
    )
    caddy = config_from_text(caddy_text, "cfg.yaml")
    assert ours(caddy) == []


def test_a_large_localised_page_is_warned_about_too(tmp_path: Path) -> None:
    page = tmp_path / "unavailable.html"
    page.write_text(MESSAGE)
    (tmp_path / "unavailable.fr.html").write_text("Indisponible.<!--" + "x" * 30_000 + "-->")
    behind = {"proxy": {"trusted_proxies": ["10.0.0.0/8"]}, **ADMIN}
    text = config_text(
        "http://127.0.0.1:8081",
        {"forward_auth": {"proxy": "nginx"}, **behind},
        portal={"unavailable_page": str(page), "sentences": {"fr": "Indisponible."}},
    )
    (warning,) = ours(config_from_text(text, "cfg.yaml"))
    assert ": customer_portal.unavailable_page: warning: 30020 bytes: behind nginx" in warning


def test_check_warns_when_decision_is_served_nowhere() -> None:
    extra = {"forward_auth": {"proxy": "nginx"}, "proxy": {"trusted_proxies": ["127.0.0.1/32"]}}
    text = config_text(URL, {**extra, "admin_listen": "none"})
    assert ours(config_from_text(text, "cfg.yaml")) == [
        f"cfg.yaml:{line_of(text, 'proxy: nginx')}: forward_auth.proxy: warning: admin_listen "
        "is none and admin_public is false, so /_gateway/decision is served nowhere; set "
        "admin_listen to the address the proxy asks"
    ]
    for served in ({"admin_listen": "127.0.0.1:8082"}, {"admin_public": True}):
        config = config_from_text(config_text(URL, {**extra, **served}), "cfg.yaml")
        assert [w for w in ours(config) if "forward_auth" in w] == []
