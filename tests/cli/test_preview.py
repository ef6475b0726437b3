"""`portal-gateway preview-link`: the link it prints opens a preview; the refusals exit 2."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from gateway.cli.main import main
from gateway.policy.preview import PreviewCodec
from gateway.settings.control import load_control
from tests.conftest import (
    ENABLED_STORE,
    SESSION_KEY,
    StartGateway,
    StartUpstream,
    config_data,
    config_yaml,
)
from tests.processes import gateway_cli

CODEC = PreviewCodec(SESSION_KEY.encode())


def _config(tmp_path: Path, **overrides: Any) -> Path:
    cfg = tmp_path / "gateway.yaml"
    data = config_data("http://127.0.0.1:8081", listen="127.0.0.1:8443", **overrides)
    cfg.write_text(config_yaml(data))
    return cfg


def _token(link: str) -> str:
    return link.rsplit("/", 1)[1]


def test_it_prints_a_link_valid_for_2h_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = time.time()
    assert main(["preview-link", "--config", str(_config(tmp_path))]) == 0
    out, err = capsys.readouterr()
    link = out.strip()
    assert link.startswith("http://127.0.0.1:8443/_gateway/preview/p1.")
    checked = CODEC.check(_token(link), time.time(), 0)
    assert checked.valid
    assert before + 7200 - 1 <= checked.expires_at <= time.time() + 7200
    assert "valid until" in err and _token(link) not in err


def test_for_base_url_and_the_prefix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config(tmp_path, admin_prefix="/_ops")
    args = ["preview-link", "--config", str(cfg), "--for", "30m"]
    assert main([*args, "--base-url", "https://portal.example.com/"]) == 0
    link = capsys.readouterr().out.strip()
    assert link.startswith("https://portal.example.com/_ops/preview/p1.")
    expires = CODEC.check(_token(link), time.time(), 0).expires_at
    assert expires <= time.time() + 1800


def test_a_base_url_without_a_scheme_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(tmp_path)
    assert main(["preview-link", "--config", str(cfg), "--base-url", "portal.example.com"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "expected an origin such as https://portal.example.com" in err


def test_for_is_capped_by_max_override(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config(tmp_path)
    assert main(["preview-link", "--config", str(cfg), "--for", "25h"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "portal-gateway: --for 25h: at most 24h (settings.max_override)\n"
    settings = {"source": ENABLED_STORE, "field": "enabled", "max_override": "1h"}
    capped = _config(tmp_path, settings=settings)
    assert main(["preview-link", "--config", str(capped), "--for", "2h"]) == 2
    assert "at most 1h (settings.max_override)" in capsys.readouterr().err


def test_no_session_key_is_a_located_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PORTAL_GATEWAY_SESSION_KEY", raising=False)
    cfg = _config(tmp_path, customer_portal={"session_key": None})
    assert main(["preview-link", "--config", str(cfg)]) == 2
    out, err = capsys.readouterr()
    line = cfg.read_text().splitlines().index("customer_portal:") + 1
    assert (out, err) == (
        "",
        f"{cfg}:{line}: customer_portal.session_key: required for preview links\n",
    )


def test_no_session_key_exits_2_from_the_console(tmp_path: Path) -> None:
    cfg = _config(tmp_path, customer_portal={"session_key": None})
    result = gateway_cli("preview-link", "--config", str(cfg))
    assert result.returncode == 2
    assert result.stderr.endswith(": customer_portal.session_key: required for preview links\n")
    assert result.stdout == "" and "Traceback" not in result.stderr


def test_a_bad_duration_is_a_usage_error(tmp_path: Path) -> None:
    result = gateway_cli("preview-link", "--config", str(_config(tmp_path)), "--for", "soon")
    assert result.returncode == 2
    assert "expected a duration (90s, 30m, 2h), got 'soon'" in result.stderr


def test_revoke_all_invalidates_every_link_issued_so_far(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(tmp_path)
    assert main(["preview-link", "--config", str(cfg)]) == 0
    old = _token(capsys.readouterr().out.strip())
    assert main(["preview-link", "--config", str(cfg), "--revoke-all"]) == 0
    out = capsys.readouterr().out
    assert "revoked every preview link issued so far (generation 1)" in out
    control = tmp_path / "portal-gateway-control.json"
    assert load_control(str(control)).preview_generation == 1
    assert (control.stat().st_mode & 0o022) == 0
    assert main(["preview-link", "--config", str(cfg)]) == 0
    new = _token(capsys.readouterr().out.strip())
    assert CODEC.check(old, time.time(), 1).verdict == "revoked"
    assert CODEC.check(new, time.time(), 1).valid


def test_a_writable_control_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(tmp_path)
    control = tmp_path / "portal-gateway-control.json"
    control.write_text('{"version": 1, "preview_generation": 0}')
    control.chmod(0o666)
    assert main(["preview-link", "--config", str(cfg)]) == 1
    assert "group- or world-writable" in capsys.readouterr().err


async def test_the_printed_link_opens_a_preview_on_a_real_gateway(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    upstream: StartUpstream,
    gateway: StartGateway,
) -> None:
    assert main(["preview-link", "--config", str(_config(tmp_path)), "--for", "10m"]) == 0
    link = capsys.readouterr().out.strip()
    gw = await gateway((await upstream()).url)
    await gw.set_enabled(False)
    path = link.removeprefix("http://127.0.0.1:8443")
    async with gw.client.get(path, allow_redirects=False) as resp:
        assert resp.status == 303
        cookie = resp.headers["Set-Cookie"].split(";", 1)[0]
    async with gw.client.get("/enroll", headers={"Cookie": cookie}) as resp:
        assert resp.status == 200
