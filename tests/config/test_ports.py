"""The loader's ports: text alone reads neither pages nor the environment."""

from __future__ import annotations

from gateway.config import Offline, parse_config
from gateway.config.ports import Finding


def test_offline_reads_no_page_and_no_environment() -> None:
    offline = Offline()
    assert offline.page("/etc/portal/unavailable.html") is None
    assert offline.env("PORTAL_GATEWAY_SESSION_KEY") is None


def test_a_finding_is_an_error_unless_it_says_warning() -> None:
    assert not Finding(3, "settings.source", "bad").warning
    assert Finding(3, "settings.source", "odd", warning=True).warning


def test_text_alone_parses_without_resources() -> None:
    text = (
        "listen: 127.0.0.1:8080\nupstreams:\n  portal: http://127.0.0.1:8081\n"
        "settings:\n  source: file:///tmp/none.json\n  field: enabled\n"
        "routes:\n  - {name: office, paths: [/], upstream: portal, portal: office}\n"
    )
    config = parse_config(text, "gateway.yaml")
    assert config.customer_portal.unavailable_html == ""  # no page read: Offline
