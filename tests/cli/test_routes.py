"""`portal-gateway routes`: the real command on real files, its table, warnings and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.cli.main import main
from tests.conftest import ROOT, config_text
from tests.processes import gateway_cli

ROUTES: list[dict[str, Any]] = [
    {"name": "public", "paths": ["/public"], "upstream": "portal", "portal": "public"},
    {
        "name": "staff",
        "paths": ["/office"],
        "hosts": ["office.example.com"],
        "upstream": "portal",
        "portal": "office",
    },
    {"name": "backoffice", "paths": ["/admin"], "upstream": "portal", "portal": "office"},
    {"name": "customer", "paths": ["/"], "upstream": "portal", "portal": "customer"},
]
PAY_WARNING = (
    "POST /public/pay: 'pay' suggests a customer action, but route 'public' (portal: public) "
    "always passes, even while the Customer Portal is disabled"
)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "gateway.yaml"
    path.write_text(config_text("http://127.0.0.1:8081", routes=ROUTES))
    return path


def write(tmp_path: Path, name: str, text: str) -> str:
    (tmp_path / name).write_text(text)
    return str(tmp_path / name)


def routes(config: Path, *args: str) -> tuple[int, list[str], str]:
    result = gateway_cli("routes", "--config", str(config), *args)
    assert "Traceback" not in result.stderr
    return result.returncode, result.stdout.splitlines(), result.stderr


def test_a_payment_on_the_public_route_is_flagged_and_strict_fails(
    config: Path, tmp_path: Path
) -> None:
    text = "# the portal's routes\nPOST /public/pay\n/enroll\nGET /_gateway/login\n"
    paths = write(tmp_path, "paths.txt", text)
    code, out, err = routes(config, "--against", paths)
    assert (code, err) == (0, "")
    assert out == [
        "METHOD  PATH             ROUTE     PORTAL",
        "POST    /public/pay      public    public",
        "*       /enroll          customer  customer",
        "GET     /_gateway/login  -         -         (404: reserved path)",
        f"{paths}:2: warning: {PAY_WARNING}",
        "1 warning",
    ]
    code, strict, _ = routes(config, "--against", paths, "--strict")
    assert (code, strict) == (1, out)


def test_an_ignore_file_accepts_a_warning_and_notes_a_line_that_covers_nothing(
    config: Path, tmp_path: Path
) -> None:
    paths = write(tmp_path, "paths.txt", "POST /public/pay\n/public/display\n")
    ignore = write(tmp_path, "accepted.txt", "# reviewed\n/public/pay\nGET /public/cart\n")
    code, out, _ = routes(config, "--against", paths, "--ignore", ignore, "--strict")
    assert code == 0
    assert out[-2:] == [
        f"{ignore}:3: note: GET /public/cart is accepted but no listed path warns for it",
        "no warnings, 1 ignored",
    ]
    assert not any(": warning: " in line for line in out)


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "servers": [{"url": "/"}, {"url": "https://office.example.com/"}],
    "paths": {
        "/public/payments/{id}": {"get": {}},
        "/office/accounts/{account}": {"put": {}},
        "/admin/transfers": {"post": {}},
        "/courses": {"get": {}},
    },
}
OPENAPI_ROWS = [
    "METHOD  PATH                                          ROUTE       PORTAL",
    "GET     /public/payments/1                            public      public",
    "GET     https://office.example.com/public/payments/1  public      public",
    "PUT     /office/accounts/1                            customer    customer",
    "PUT     https://office.example.com/office/accounts/1  staff       office",
    "POST    /admin/transfers                              backoffice  office",
    "POST    https://office.example.com/admin/transfers    backoffice  office",
    "GET     /courses                                      customer    customer",
    "GET     https://office.example.com/courses            customer    customer",
]


@pytest.mark.parametrize("form", ["json", "yaml"])
def test_an_openapi_document_with_servers_and_templates(
    config: Path, tmp_path: Path, form: str
) -> None:
    if form == "json":
        text = json.dumps(OPENAPI, indent=2)
    else:
        text = "# the portal's API\n" + yaml.safe_dump(OPENAPI, sort_keys=False)
    spec = write(tmp_path, f"openapi.{form}", text)
    code, out, _ = routes(config, "--against", spec, "--strict")
    assert code == 1
    assert out[: len(OPENAPI_ROWS)] == OPENAPI_ROWS
    lines = text.splitlines()
    get = next(i for i, ln in enumerate(lines, 1) if ln.strip().startswith(('"get"', "get:")))
    post = next(i for i, ln in enumerate(lines, 1) if ln.strip().startswith(('"post"', "post:")))
    warned = [line.split(": warning: ")[0] for line in out if ": warning: " in line]
    # The staff route has hosts: (quiet); the backoffice route has none (warned on both).
    assert warned == [f"{spec}:{get}", f"{spec}:{get}", f"{spec}:{post}", f"{spec}:{post}"]
    assert out[-1] == "4 warnings"


def test_host_classifies_paths_the_file_gives_no_host(config: Path, tmp_path: Path) -> None:
    paths = write(tmp_path, "paths.txt", "PUT /office/accounts/1\n")
    code, out, _ = routes(config, "--against", paths, "--host", "Office.Example.com")
    assert (code, out[1]) == (0, "PUT     /office/accounts/1  staff  office")
    code, _, err = routes(config, "--against", paths, "--host", "not a host")
    assert code == 2 and "--host: expected a host name, got 'not a host'" in err


def test_bad_files_exit_2_with_each_problem_located(config: Path, tmp_path: Path) -> None:
    paths = write(tmp_path, "paths.txt", "POST /pay extra\npayments\n")
    assert routes(config, "--against", paths) == (
        2,
        [],
        f"{paths}:1: expected [METHOD] PATH, got 'POST /pay extra'\n"
        f"{paths}:2: expected a path starting with '/' or an http(s) URL, got 'payments'\n",
    )
    spec = write(tmp_path, "api.json", '{\n  "openapi": "2.0",\n  "paths": {"/a": {}}\n}\n')
    assert routes(config, "--against", spec) == (
        2,
        [],
        f"{spec}:2: openapi: expected 3.x, got '2.0'\n",
    )
    good = write(tmp_path, "good.txt", "/a\n")
    ignore = write(tmp_path, "ignore.txt", "/a b c\n")
    code, _, err = routes(config, "--against", good, "--ignore", ignore)
    assert (code, err) == (2, f"{ignore}:1: expected [METHOD] PATH, got '/a b c'\n")
    code, _, err = routes(config, "--against", str(tmp_path / "none.txt"))
    assert (code, err) == (2, f"{tmp_path}/none.txt: cannot read: No such file or directory\n")


def test_a_bad_config_exits_2_as_check_does(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(config_text("http://127.0.0.1:8081", {"proxy": {"client_max_size": "x"}}))
    code, out, err = routes(bad, "--against", write(tmp_path, "p.txt", "/a\n"))
    assert (code, out) == (2, [])
    assert f"{bad}:" in err and ": proxy.client_max_size: expected a size in bytes" in err


def test_the_readme_shows_what_routes_prints(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    command = (
        "$ portal-gateway routes --config config/gateway.yaml --against config/upstream-paths.txt\n"
    )
    readme = (ROOT / "README.md").read_text()
    shown = readme[readme.index(command) + len(command) :].split("```", 1)[0]
    monkeypatch.chdir(ROOT)
    assert (
        main(
            ["routes", "--config", "config/gateway.yaml", "--against", "config/upstream-paths.txt"]
        )
        == 0
    )
    assert capsys.readouterr().out == shown


def test_control_characters_in_a_path_are_shown_escaped_never_sent_to_the_terminal(
    config: Path, tmp_path: Path
) -> None:
    # The upstream's document is someone else's text: an escape sequence in a path would
    # retitle or clear the terminal of whoever runs the lint.
    doc = {"openapi": "3.0.0", "paths": {"/public/pay\x1b]0;owned\x07\x1b[2J": {"post": {}}}}
    spec = write(tmp_path, "api.json", json.dumps(doc))
    code, out, err = routes(config, "--against", spec)
    assert (code, err) == (0, "")
    assert not any(ch in line for line in out for ch in "\x1b\x07")
    assert out[1].startswith("POST    /public/pay\\x1b]0;owned\\x07\\x1b[2J  -")
    bad = write(tmp_path, "bad.json", json.dumps({"openapi": "3.0.0", "paths": {"p\x1b[2J": {}}}))
    code, out, err = routes(config, "--against", bad)
    assert (code, out) == (2, [])
    assert "\x1b" not in err and "paths.p\\x1b[2J: a path starts with '/'" in err
