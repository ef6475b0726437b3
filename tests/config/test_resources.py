"""The load step: the config file, the unavailable page (own or packaged), the environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import UNAVAILABLE_MESSAGE, ConfigError, config_from_text, load_config
from gateway.config.resources import SESSION_KEY_ENV, LocalResources, packaged_page
from tests.conftest import ENABLED_STORE, ROOT, config_text
from tests.processes import ENV

PAGE_LINE = f"  unavailable_page: {ROOT / 'gateway' / 'static' / 'unavailable.html'}\n"


def portal_text(**changes: object) -> str:
    """The test config with `customer_portal` changed (None removes a key)."""
    return config_text("http://127.0.0.1:8081", {"customer_portal": changes})


# The test config without its explicit page, so the packaged one is used.
NO_PAGE = portal_text(unavailable_page=None)


def test_the_packaged_page_is_the_one_in_the_package_and_says_the_sentence() -> None:
    page = packaged_page()
    assert page == (ROOT / "gateway" / "static" / "unavailable.html").read_text()
    assert UNAVAILABLE_MESSAGE in page


def test_without_the_key_the_packaged_page_is_used_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert PAGE_LINE not in NO_PAGE
    monkeypatch.chdir(tmp_path)
    config = config_from_text(NO_PAGE, "cfg.yaml")
    assert config.customer_portal.unavailable_page is None
    assert config.customer_portal.unavailable_html == packaged_page()


def test_an_explicit_page_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "down.html").write_text(f"<p>{UNAVAILABLE_MESSAGE}</p>")
    text = portal_text(unavailable_page="pages/down.html")
    monkeypatch.chdir(tmp_path)
    config = config_from_text(text, str(ROOT / "config" / "cfg.yaml"))
    assert config.customer_portal.unavailable_page == "pages/down.html"
    assert config.customer_portal.unavailable_html == f"<p>{UNAVAILABLE_MESSAGE}</p>"
    # Never looked for next to the config file (or its parent): only the working directory.
    monkeypatch.chdir(ROOT / "tests")
    with pytest.raises(ConfigError) as info:
        config_from_text(text.replace("pages/", "static/"), str(ROOT / "config" / "c.yaml"))
    assert [i.message for i in info.value.issues] == ["file not found: static/down.html"]


def test_an_unreadable_page_is_located(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_bytes(b"\xff\xfe not text")
    text = portal_text(unavailable_page=str(page))
    with pytest.raises(ConfigError) as info:
        config_from_text(text, "cfg.yaml")
    line = text.splitlines().index(f"  unavailable_page: {page}") + 1
    assert [str(i) for i in info.value.issues] == [
        f"cfg.yaml:{line}: customer_portal.unavailable_page: {page} is not UTF-8 text"
    ]


def test_the_session_key_comes_from_the_environment_when_not_in_the_file() -> None:
    text = portal_text(unavailable_page=None, session_key=None)
    key = "e" * 32
    assert config_from_text(text, "c.yaml", environ={}).customer_portal.session_key is None
    found = config_from_text(text, "c.yaml", environ={SESSION_KEY_ENV: key})
    assert found.customer_portal.session_key == key.encode()
    named = portal_text(unavailable_page=None, session_key=None, session_key_env="MY_KEY")
    found = config_from_text(named, "c.yaml", environ={"MY_KEY": key, SESSION_KEY_ENV: "x"})
    assert found.customer_portal.session_key == key.encode()


def test_local_resources_read_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_GATEWAY_TEST_VALUE", "here")
    assert LocalResources().env("PORTAL_GATEWAY_TEST_VALUE") == "here"
    assert LocalResources({}).env("PORTAL_GATEWAY_TEST_VALUE") is None


def test_a_config_file_that_is_not_text_is_a_located_error(tmp_path: Path) -> None:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_bytes(b"listen: \xff\n")
    with pytest.raises(ConfigError) as info:
        load_config(cfg)
    assert [str(i) for i in info.value.issues] == [
        f"{cfg}:1: (file): not UTF-8 text: invalid start byte"
    ]


def test_check_passes_outside_the_checkout_with_the_packaged_page(tmp_path: Path) -> None:
    (tmp_path / "gateway.yaml").write_text(NO_PAGE)
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "check", "--config", "gateway.yaml"],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("gateway.yaml: OK\n")
    assert ENABLED_STORE in result.stdout
