"""No secret in any repr, check output or log line: database, Redis, HTTP and upstream URLs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from gateway.config import ConfigError, config_from_text
from gateway.settings import make_source
from gateway.settings.poller import Poller
from gateway.wire.values import mask_secrets, mask_url, rfc3339, url_secrets
from tests.conftest import config_text
from tests.processes import gateway_cli

# Each password is unique, so a leak is attributable; "%40" is an "@" as URLs must write it.
SOURCES = {
    "postgresql": "source: postgresql://app:pg-Secr3t@127.0.0.1:1/portal\nquery: SELECT 1, 2",
    "mysql": "source: mysql://app:my-Secr3t@127.0.0.1:1/portal\nquery: SELECT 1, 2",
    "redis": "source: redis://:rd-Secr3t@127.0.0.1:1/0\nkey: k",
    "redis-param": "source: redis://127.0.0.1:1/0?password=rq-Secr3t\nkey: k",
    "http": "source: http://ops:ht%40Secr3t@127.0.0.1:1/s\nfield: enabled\nchanged_at_field: t",
}
SECRETS = ("pg-Secr3t", "my-Secr3t", "rd-Secr3t", "rq-Secr3t", "ht%40Secr3t", "ht@Secr3t")
UPSTREAM = "http://proxyuser:up-Secr3t@127.0.0.1:8081"


def leaks(text: str) -> list[str]:
    return [s for s in (*SECRETS, "up-Secr3t") if s in text]


@pytest.mark.parametrize("kind", list(SOURCES))
async def test_no_password_in_any_repr_nor_in_the_log_of_a_failing_read(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = config_from_text(config_text(UPSTREAM, settings=SOURCES[kind]), "test.yaml")
    assert mask_url(config.settings.source) != config.settings.source  # a secret to hide
    shown = [repr(config), str(config), repr(config.settings), str(config.settings)]
    shown += [repr(config.upstreams), repr(config.customer_portal), repr(config.proxy)]
    assert leaks("\n".join(shown)) == []
    assert "***" in repr(config.settings) and "proxyuser:***@" in repr(config.upstreams)
    poller = Poller(make_source(config.settings), config.settings)
    try:
        await poller.refresh()  # nothing listens on port 1: a read error, logged
    finally:
        await poller.stop()
    assert poller.state.last_error is not None
    assert caplog.text.count("settings read failed:") == 1
    assert leaks(caplog.text + poller.state.last_error + poller.state.source) == []


@pytest.mark.slow  # a process per store or per signal: seconds each on two shared cores
def test_check_output_masks_every_password(tmp_path: Path) -> None:
    cfg = tmp_path / "secret.yaml"
    cfg.write_text(config_text(UPSTREAM, settings=SOURCES["redis-param"]))
    result = gateway_cli("check", "--config", str(cfg))
    assert result.returncode == 0, result.stderr
    assert leaks(result.stdout + result.stderr) == []
    assert "upstream    portal -> http://proxyuser:***@127.0.0.1:8081" in result.stdout
    assert "settings    redis://127.0.0.1:1/0?password=*** " in result.stdout


def test_a_bad_upstream_url_is_reported_without_its_password() -> None:
    text = config_text("ftp://u:ftp-Secr3t@files.example")
    with pytest.raises(ConfigError) as info:
        config_from_text(text, "test.yaml")
    assert "ftp-Secr3t" not in str(info.value)
    assert "got 'ftp://u:***@files.example'" in str(info.value)


def test_a_session_key_of_the_wrong_type_is_not_quoted() -> None:
    text = config_text(
        "http://127.0.0.1:8081", portal={"session_key": 123456789012345678901234567890123}
    )
    with pytest.raises(ConfigError) as info:
        config_from_text(text, "test.yaml")
    assert [i.message for i in info.value.issues] == [
        "expected a secret string (the value is not shown)"
    ]


@pytest.mark.parametrize(
    ("url", "masked", "secrets"),
    [
        ("postgresql://app:pw@db:5432/x", "postgresql://app:***@db:5432/x", ["pw"]),
        ("redis://:pw@cache/0", "redis://:***@cache/0", ["pw"]),
        ("http://u:p%40ss@h/s", "http://u:***@h/s", ["p%40ss", "p@ss"]),
        ("http://u:p@ss@h/s", "http://u:***@h/s", ["p@ss"]),  # the last "@" splits
        ("http://u:pw@h:notaport/s", "http://u:***@h:notaport/s", ["pw"]),  # never raises
        ("postgresql://db/x?user=a&password=pw", "postgresql://db/x?user=a&password=***", ["pw"]),
        ("http://h/s?token=t0k&x=1", "http://h/s?token=***&x=1", ["t0k"]),
        ("http://user@h/s", "http://***@h/s", ["user"]),
        ("file:///srv/s.json", "file:///srv/s.json", []),
        ("not a url", "not a url", []),
    ],
)
def test_mask_url(url: str, masked: str, secrets: list[str]) -> None:
    assert mask_url(url) == masked
    assert url_secrets(url) == secrets


def test_mask_secrets_in_free_text() -> None:
    url = "mysql://root:p%40ss@db/x?password=other"
    text = "could not connect with p@ss (p%40ss), or other"
    assert mask_secrets(text, url) == "could not connect with *** (***), or ***"


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        pytest.param(0.0, "1970-01-01T00:00:00.000Z", id="epoch"),
        pytest.param(1_796_116_500.0, "2026-12-01T09:15:00.000Z", id="whole-seconds"),
        pytest.param(1_796_116_500.25, "2026-12-01T09:15:00.250Z", id="milliseconds"),
        pytest.param(None, None, id="never-known"),
    ],
)
def test_rfc3339_is_utc_to_the_millisecond(seconds: float | None, expected: str | None) -> None:
    assert rfc3339(seconds) == expected
