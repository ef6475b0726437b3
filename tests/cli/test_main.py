"""The command line as ops use it: real processes, real exit codes."""

from __future__ import annotations

import asyncio
import importlib
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from gateway.cli.helptext import DEFAULT_CONFIGS
from gateway.cli.main import build_parser, main, with_log_format
from gateway.config import config_from_text
from gateway.settings import SOURCES
from tests.conftest import ENABLED_STORE, ROOT, StartUpstream, config_text
from tests.processes import ENV, free_port, gateway_cli, gateway_process

SHARED_HOST = (
    "warning: office route 'office' shares a host with customer route 'customer' (any host): "
    "on a shared host customers' browsers send their session cookies to the office paths "
    "(/office, /api/office) too, and office routes pass untouched even while the Customer "
    "Portal is disabled; serve the Office Portal on a host of its own if the portal can "
    "(hosts: on the office and customer routes)"
)


def test_check_prints_the_route_table() -> None:
    result = gateway_cli("check", "--config", "config/gateway.yaml")
    # The example serves staff and customers on one host, as `make run` does: the one warning.
    line = Path(ROOT / "config/gateway.yaml").read_text().splitlines().index("  - name: office")
    assert (result.returncode, result.stderr) == (
        0,
        f"config/gateway.yaml:{line + 1}: routes[2].hosts: {SHARED_HOST}\n",
    )
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        "config/gateway.yaml: OK",
        "listen      127.0.0.1:8080",
        "admin       127.0.0.1:8082",
    ]
    table = lines[lines.index(next(ln for ln in lines if ln.startswith("#"))) :]
    assert table[0].split() == ["#", "route", "portal", "paths", "hosts", "methods", "upstream"]
    assert table[1].split()[:3] == ["1", "public", "public"]
    assert table[2].split()[:5] == ["2", "assets", "public", "/favicon.ico,", "/robots.txt,"]
    assert table[4].split()[:4] == ["4", "customer", "customer", "/"]


def test_check_reports_every_error_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    text = config_text(
        "http://127.0.0.1:8081",
        settings={"source": ENABLED_STORE, "field": "enabled", "timout": 2},
        portal={"retry_after": "x"},
    )
    bad.write_text(text)
    result = gateway_cli("check", "--config", str(bad))
    assert result.returncode == 2
    errors = result.stderr.splitlines()
    assert len(errors) == 2
    assert (
        errors[0].startswith(f"{bad}:")
        and ": settings.timout: unknown key (did you mean 'timeout'?)" in errors[0]
    )
    assert ": customer_portal.retry_after: expected whole seconds, got 'x'" in errors[1]
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_secrets_in_urls_are_masked(tmp_path: Path) -> None:
    cfg = tmp_path / "pg.yaml"
    settings = "source: postgresql://app:hunter2secret@127.0.0.1:1/x\nquery: SELECT 1\n"
    cfg.write_text(config_text("http://127.0.0.1:8081", settings=settings))
    result = gateway_cli("check", "--config", str(cfg))
    assert result.returncode == 0, result.stderr
    assert "postgresql://app:***@127.0.0.1:1/x" in result.stdout
    status = gateway_cli("status", "--config", str(cfg))
    assert status.returncode == 1
    assert "hunter2secret" not in status.stdout + status.stderr
    assert "postgresql://app:***@127.0.0.1:1/x" in status.stdout


@pytest.mark.slow
async def test_status_speaks_the_office_portals_words(
    aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    state = {"enabled": True}

    async def setting(request: web.Request) -> web.Response:
        return web.json_response(state)

    app = web.Application()
    app.router.add_get("/s", setting)
    server = await aiohttp_server(app)
    cfg = tmp_path / "s.yaml"
    url = f"http://127.0.0.1:{server.port}/s"
    cfg.write_text(
        config_text("http://127.0.0.1:8081", settings=f"source: {url}\nfield: enabled\n")
    )

    async def status() -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gateway",
            "status",
            "--config",
            str(cfg),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=ENV,
            cwd=ROOT,
        )
        out, _ = await proc.communicate()
        assert proc.returncode is not None
        return proc.returncode, out.decode()

    code, out = await status()
    assert code == 0
    assert out.splitlines()[0] == "You are currently using the Customer Portal."
    state["enabled"] = False
    code, out = await status()
    assert out.splitlines()[0] == "You are currently NOT using the Customer Portal."
    assert f"source: {url}" in out


def test_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cfg = tmp_path / "busy.yaml"
        cfg.write_text(config_text("http://127.0.0.1:8081", {"listen": f"127.0.0.1:{port}"}))
        result = gateway_cli("run", "--config", str(cfg))
    assert result.returncode == 1
    assert (
        result.stderr.strip().splitlines()[-1]
        == f"portal-gateway: 127.0.0.1:{port} is already in use"
    )
    assert "Traceback" not in result.stderr


async def test_admin_listen_keeps_the_reserved_endpoints_off_the_public_listener(
    upstream: StartUpstream, tmp_path: Path
) -> None:
    up = await upstream()
    admin_port = free_port()
    async with (
        gateway_process(
            up.url,
            tmp_path,
            extra=f"admin_listen: 127.0.0.1:{admin_port}\n",
        ) as gateway,
        aiohttp.ClientSession() as session,
    ):
        admin = f"http://127.0.0.1:{admin_port}"
        for url, status in (
            (gateway.url("/_gateway/metrics"), 404),  # never on the public listener...
            (gateway.url("/office/x"), 200),
            (f"{admin}/_gateway/metrics", 200),  # ...only on the admin one,
            (f"{admin}/office/x", 404),  # which proxies nothing
        ):
            async with session.get(url) as resp:
                assert resp.status == status, url
        assert await gateway.stop() == 0


def test_check_refuses_admin_listen_on_the_public_listener(tmp_path: Path) -> None:
    cfg = tmp_path / "clash.yaml"
    text = config_text(
        "http://127.0.0.1:8081", {"listen": "0.0.0.0:8080", "admin_listen": "127.0.0.1:8080"}
    )
    cfg.write_text(text)
    result = gateway_cli("check", "--config", str(cfg))
    assert (result.returncode, result.stdout) == (2, "")
    line = text.splitlines().index("admin_listen: 127.0.0.1:8080") + 1
    assert result.stderr.splitlines() == [
        f"{cfg}:{line}: admin_listen: 127.0.0.1:8080 overlaps listen (0.0.0.0:8080): 0.0.0.0 is "
        "every address, so both would take port 8080; use another port"
    ]


def test_check_warns_when_a_restart_would_forget_the_last_disable(tmp_path: Path) -> None:
    cfg = tmp_path / "forgetful.yaml"
    cfg.write_text(config_text("http://127.0.0.1:8081"))
    result = gateway_cli("check", "--config", str(cfg))
    assert result.returncode == 0
    assert result.stdout.startswith(f"{cfg}: OK\n")
    assert [e for e in result.stderr.splitlines() if ": settings: " in e] == [
        f"{cfg}:4: settings: warning: neither settings.changed_at_field nor "
        "settings.state_file is set: a restart forgets the last disable, so sessions from "
        "before a disable that happened before the restart would be resumed"
    ]


# A child whose driver is not installed: `sys.modules[name] = None` is how Python marks a
# module that cannot be imported; the CLI then runs as `portal-gateway` would.
WITHOUT = (
    "import sys; blocked = sys.argv.pop(1); sys.modules.update(dict.fromkeys(blocked.split(',')));"
    "from gateway.cli import main; "
    "code = main(sys.argv[1:]); "
    "drivers = ('asyncpg', 'aiomysql', 'pymysql', 'redis'); "
    "print('drivers imported:', [m for m in drivers if sys.modules.get(m)], file=sys.stderr); "
    "sys.exit(code)"
)


def check_without(blocked: str, cfg: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT, blocked, "check", "--config", str(cfg)],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=ROOT,
        timeout=60,
    )


STORES = {
    "postgresql": "source: postgresql://gw:pw@db/portal\nquery: SELECT enabled, changed_at FROM s",
    "mysql": "source: mysql://gw:pw@db/portal\nquery: SELECT enabled, changed_at FROM s",
    "redis": "source: redis://cache:6379/0\nkey: portal_enabled",
}


@pytest.mark.slow  # a process per store or per signal: seconds each on two shared cores
def test_check_names_the_extra_a_store_needs_and_exits_2(tmp_path: Path) -> None:
    for extra, blocked in (("postgresql", "asyncpg"), ("mysql", "aiomysql"), ("redis", "redis")):
        cfg = tmp_path / f"{extra}.yaml"
        text = config_text("http://127.0.0.1:8081", settings=STORES[extra])
        cfg.write_text(text)
        line = text.splitlines().index(f"  {STORES[extra].splitlines()[0]}") + 1
        result = check_without(blocked, cfg)
        assert result.returncode == 2, result.stderr
        # (a config error exits before the script's own last line)
        assert result.stderr.splitlines() == [
            f"{cfg}:{line}: settings.source: needs portal-gateway[{extra}]"
        ]


@pytest.mark.slow  # a process per store or per signal: seconds each on two shared cores
def test_check_validates_a_stores_options_without_importing_its_driver(tmp_path: Path) -> None:
    for extra, store in STORES.items():
        cfg = tmp_path / f"{extra}.yaml"
        cfg.write_text(config_text("http://127.0.0.1:8081", settings=store))
        result = check_without("", cfg)
        assert result.returncode == 0, result.stderr
        assert result.stderr.splitlines()[-1] == "drivers imported: []"
        cfg.write_text(config_text("http://127.0.0.1:8081", settings=store.split("\n")[0]))
        result = check_without("", cfg)
        assert result.returncode == 2
        assert "required for" in result.stderr


# The same commands in this process (main() as the entry point calls it): what they print.


def test_in_process_check_exits_2_with_each_error_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(config_text("http://127.0.0.1:8081", portal={"retry_after": "x"}))
    with pytest.raises(SystemExit) as info:
        main(["check", "--config", str(bad)])
    assert info.value.code == 2
    out, err = capsys.readouterr()
    line = bad.read_text().splitlines().index("  retry_after: x") + 1
    assert (out, err) == (
        "",
        f"{bad}:{line}: customer_portal.retry_after: expected whole seconds, got 'x'\n",
    )


def test_in_process_status_reads_the_store_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "portal.json"
    store.write_text('{"enabled": false}')
    cfg = tmp_path / "gw.yaml"
    settings = {"source": f"file://{store}", "field": "enabled"}
    cfg.write_text(config_text("http://127.0.0.1:8081", settings=settings))
    assert main(["status", "--config", str(cfg)]) == 0
    assert capsys.readouterr().out == (
        f"You are currently NOT using the Customer Portal.\nsource: file://{store}\n"
    )
    store.unlink()
    assert main(["status", "--config", str(cfg)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [
        "The Customer Portal state could not be read.",
        f"source: file://{store}",
    ]
    assert out[2].startswith("error: ") and str(store) in out[2]


def test_help_says_what_the_program_is_for(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps to the terminal's width
    assert "portal-gateway: the Customer Portal switch at the edge. A reverse proxy" in out
    assert "the only place that prints" not in out  # the module docstring is for developers


def test_the_readme_shows_what_check_prints(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    command = "$ portal-gateway check --config config/gateway.yaml 2>/dev/null\n"
    readme = (ROOT / "README.md").read_text()
    shown = readme[readme.index(command) + len(command) :].split("```", 1)[0]
    monkeypatch.chdir(ROOT)
    assert main(["check", "--config", "config/gateway.yaml"]) == 0
    assert capsys.readouterr().out == shown


# -- --config: the default places, in order; demo keeps its own --


NO_CONFIG = (
    "portal-gateway: no config file: neither /etc/portal-gateway/gateway.yaml nor "
    "./gateway.yaml exists; pass --config FILE\n"
)


def test_the_default_config_places_are_the_system_one_then_the_working_directory() -> None:
    assert DEFAULT_CONFIGS == ("/etc/portal-gateway/gateway.yaml", "./gateway.yaml")
    assert build_parser().parse_args(["demo"]).config == "config/demo.yaml"
    for command in ("run", "check", "status"):
        assert build_parser().parse_args([command]).config is None


@pytest.mark.skipif(
    Path("/etc/portal-gateway/gateway.yaml").exists(), reason="this machine has a system config"
)
def test_without_a_config_anywhere_each_command_exits_2_naming_both_places(
    tmp_path: Path,
) -> None:
    for command in ("run", "check", "status"):
        result = subprocess.run(
            [sys.executable, "-m", "gateway", command],
            capture_output=True,
            text=True,
            env=ENV,
            cwd=tmp_path,
            timeout=60,
        )
        assert (result.returncode, result.stdout, result.stderr) == (2, "", NO_CONFIG), command


def test_the_working_directorys_gateway_yaml_is_read_when_no_system_config_exists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    system = tmp_path / "etc" / "gateway.yaml"
    # (the package's `main` is the function; the module is what reads DEFAULT_CONFIGS)
    module = importlib.import_module("gateway.cli.main")
    monkeypatch.setattr(module, "DEFAULT_CONFIGS", (str(system), "./gateway.yaml"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["check"])
    assert info.value.code == 2
    assert capsys.readouterr().err == (
        f"portal-gateway: no config file: neither {system} nor ./gateway.yaml exists; "
        "pass --config FILE\n"
    )
    Path("gateway.yaml").write_text(config_text("http://127.0.0.1:8081"))
    assert main(["check"]) == 0
    assert capsys.readouterr().out.startswith("./gateway.yaml: OK\n")
    # The system config, once there, comes first.
    system.parent.mkdir()
    system.write_text(config_text("http://127.0.0.1:8081", {"listen": "127.0.0.1:9999"}))
    assert main(["check"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [f"{system}: OK", "listen      127.0.0.1:9999"]
    # --config wins over both.
    other = tmp_path / "other.yaml"
    other.write_text(config_text("http://127.0.0.1:8081"))
    assert main(["check", "--config", str(other)]) == 0
    assert capsys.readouterr().out.startswith(f"{other}: OK\n")


# -- check: the addresses each listener binds --


def ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.parametrize(
    ("overrides", "listen", "admin"),
    [
        ({}, "127.0.0.1:0", "none"),
        (
            {"listen": 8080, "admin_listen": "127.0.0.1:9100"},
            "0.0.0.0:8080, [::]:8080 (*:8080)" if ipv6() else "0.0.0.0:8080 (*:8080)",
            "127.0.0.1:9100",
        ),
        ({"listen": "[::1]:8080", "admin_listen": "0.0.0.0:9100"}, "[::1]:8080", "0.0.0.0:9100"),
        (
            {"admin_listen": "127.0.0.1:9100", "admin_public": True},
            "127.0.0.1:0",
            "127.0.0.1:9100; admin_public: every reserved endpoint on listen too",
        ),
        (
            {"admin_public": True},
            "127.0.0.1:0",
            "none; admin_public: every reserved endpoint on listen too",
        ),
        ({"admin_listen": None}, "127.0.0.1:0", "127.0.0.1:8082"),  # the default
    ],
)
def test_check_prints_the_addresses_each_listener_binds(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    overrides: dict[str, object],
    listen: str,
    admin: str,
) -> None:
    cfg = tmp_path / "gw.yaml"
    cfg.write_text(config_text("http://127.0.0.1:8081", overrides))
    assert main(["check", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1:3] == [f"listen      {listen}", f"admin       {admin}"]


def test_check_says_when_a_listen_name_does_not_resolve(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "gw.yaml"
    cfg.write_text(config_text("http://127.0.0.1:8081", {"listen": "no-such-host.invalid:8080"}))
    assert main(["check", "--config", str(cfg)]) == 0  # valid: the name may resolve where it runs
    line = capsys.readouterr().out.splitlines()[1]
    assert line.startswith("listen      no-such-host.invalid:8080 (does not resolve: ")


def test_check_warns_when_admin_public_puts_the_state_on_the_public_listener(
    tmp_path: Path,
) -> None:
    cfg = tmp_path / "public.yaml"
    text = config_text("http://127.0.0.1:8081", {"admin_public": True})
    cfg.write_text(text)
    result = gateway_cli("check", "--config", str(cfg))
    line = text.splitlines().index("admin_public: true") + 1
    assert result.returncode == 0
    assert f"{cfg}:{line}: admin_public: warning: metrics, state and decision also answer" in (
        result.stderr
    )


# --log-level and --log-format: before or after the command, the later one winning.


@pytest.mark.parametrize(
    ("argv", "level", "form"),
    [
        (["run", "--config", "f"], "INFO", None),
        (["--log-level", "WARNING", "run", "--config", "f"], "WARNING", None),
        (["run", "--config", "f", "--log-level", "warning"], "WARNING", None),
        (["--log-format", "text", "check", "--config", "f"], "INFO", "text"),
        (["status", "--log-format", "json", "--config", "f"], "INFO", "json"),
        (["--log-level", "ERROR", "run", "--log-level", "DEBUG", "--config", "f"], "DEBUG", None),
        (["--log-format", "json", "demo", "--log-format", "text"], "INFO", "text"),
    ],
)
def test_log_options_are_accepted_before_or_after_the_command(
    argv: list[str], level: str, form: str | None
) -> None:
    from gateway.cli.main import build_parser

    args = build_parser().parse_args(argv)
    assert (args.log_level, args.log_format) == (level, form)


def test_an_unknown_log_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", "--config", "f", "--log-format", "xml"])
    assert info.value.code == 2
    assert "argument --log-format: invalid choice: 'xml' (choose from json, text)" in (
        capsys.readouterr().err.replace("'json', 'text'", "json, text")
    )


async def _access_lines(
    upstream_url: str, tmp_path: Path, *options: str, extra: dict[str, object] | None = None
) -> list[str]:
    """Run `portal-gateway run`, make one office request, stop it; its stderr lines."""
    port = free_port()
    cfg = tmp_path / f"access-{port}.yaml"
    cfg.write_text(config_text(upstream_url, {"listen": f"127.0.0.1:{port}", **(extra or {})}))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "run", "--config", str(cfg), *options,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV, cwd=ROOT,
    )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                try:
                    async with session.get(f"http://127.0.0.1:{port}/office/x?card=1") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientConnectorError:
                    await asyncio.sleep(0.05)
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 30) == 0
        assert proc.stderr is not None
        return (await proc.stderr.read()).decode().splitlines()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@pytest.mark.slow
async def test_run_writes_json_access_lines_when_stderr_is_not_a_terminal(
    upstream: StartUpstream, tmp_path: Path
) -> None:
    import json

    up = await upstream()
    # No --log-format and no log_format: stderr is a pipe here, so JSON.
    lines = await _access_lines(up.url, tmp_path)
    [access] = [json.loads(line) for line in lines if line.startswith("{")]
    assert (access["path"], access["route"], access["decision"]) == (
        "/office/x",
        "office",
        "forwarded",
    )
    # After the command, over the file's log_format; and WARNING leaves the access log off.
    text = await _access_lines(
        up.url, tmp_path, "--log-format", "text", extra={"log_format": "json"}
    )
    assert not any(line.startswith("{") for line in text)
    assert [line for line in text if '"GET /office/x" 200 ' in line]
    quiet = await _access_lines(up.url, tmp_path, "--log-level", "WARNING")
    assert not [line for line in quiet if "/office/x" in line]


def test_log_format_on_the_command_line_wins_over_the_files() -> None:
    config = config_from_text(
        config_text("http://127.0.0.1:8081", {"log_format": "json"}), "t.yaml", SOURCES
    )
    assert with_log_format(config, None) is config
    assert with_log_format(config, "text").log_format == "text"
    assert with_log_format(config, "json").log_format == "json"
