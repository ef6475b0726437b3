"""`portal-gateway --help`: every command and option described, exit codes and environment."""

from __future__ import annotations

import argparse

import pytest

from gateway.cli.helptext import COMMANDS, DEFAULT_CONFIGS
from gateway.cli.main import build_parser, main


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps no public list of its subparsers
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no subcommands")


def undescribed(parser: argparse.ArgumentParser) -> list[str]:
    return [
        "/".join(a.option_strings) or a.dest
        for a in parser._actions
        if not isinstance(a, argparse._SubParsersAction) and not (a.help or "").strip()
    ]


def test_every_command_and_option_has_a_description() -> None:
    parser = build_parser()
    commands = subcommands(parser)
    assert (
        sorted(commands)
        == sorted(COMMANDS)
        == [
            "check",
            "demo",
            "override",
            "preview-link",
            "routes",
            "run",
            "status",
        ]
    )
    assert undescribed(parser) == []
    for name, command in commands.items():
        assert undescribed(command) == [], name
        assert command.description and command.description.strip(), name
        assert command.epilog and command.epilog.startswith("exit codes:\n"), name
    actions = subcommands(commands["override"])
    assert sorted(actions) == ["clear", "disable", "enable", "show"]
    for name, action in actions.items():
        assert undescribed(action) == [], name
        assert action.description, name


def test_the_command_list_names_each_command_with_its_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    listed = " ".join(out[out.index("commands:") : out.index("exit codes:")].split())
    for name, (summary, _, _) in COMMANDS.items():
        assert f" {name} {summary}" in listed, name


def test_the_help_lists_exit_codes_environment_and_where_the_config_is_found(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    codes = out[out.index("exit codes:\n") : out.index("environment:")]
    assert [ln.split()[0] for ln in codes.splitlines()[1:] if ln[:3].strip()] == ["0", "1", "2"]
    assert "a config error (each on stderr as FILE:LINE: dotted.key: message)" in codes
    environment = out[out.index("environment:\n") : out.index("config file:")]
    assert environment.splitlines()[1].split()[0] == "PORTAL_GATEWAY_SESSION_KEY"
    assert "customer_portal.session_key_env" in environment
    where = out[out.index("config file:\n") :]
    assert (
        f"--config FILE, else {DEFAULT_CONFIGS[0]}, else {DEFAULT_CONFIGS[1]}" in where
        and "config/demo.yaml" in where
    )


@pytest.mark.parametrize(
    ("command", "codes"),
    [
        (
            "run",
            [
                "0  stopped cleanly after SIGTERM or SIGINT",
                "1  a listener's address is already in use",
                "2  a config error, or no config file found",
            ],
        ),
        ("check", ["0  valid, warnings or not", "2  invalid, or no config file found"]),
        (
            "status",
            [
                "0  read",
                "1  the store could not be read",
                "2  a config error, or no config file found",
            ],
        ),
        (
            "routes",
            [
                "0  classified (warnings or not, without --strict)",
                "1  --strict, and a warning remains",
                "2  a config error, a bad --against or --ignore file, or no config file found",
            ],
        ),
        (
            "demo",
            [
                "0  stopped",
                "1  a demo port is already in use",
                "2  a config error, or the demo is not installed",
            ],
        ),
    ],
)
def test_each_commands_help_has_its_description_options_and_exit_codes(
    command: str,
    codes: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "80")  # option help wraps inside the path at this width
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: portal-gateway {command} [-h] [--config FILE]")
    description = out.split("\n\n")[1]
    assert " ".join(description.split()) == " ".join(COMMANDS[command][1].split())
    assert out.rstrip().splitlines()[-len(codes) - 1 :] == [
        "exit codes:",
        *(f"  {c}" for c in codes),
    ]
    options = out[out.index("options:") :]
    assert "--config FILE" in options
    if command == "demo":
        assert "(default: config/demo.yaml)" in " ".join(options.split())
        assert "--data-dir DIR" in options
    else:
        # Wrapped, yet no path is broken at its hyphen (/etc/portal-\ngateway).
        assert f"(default: {DEFAULT_CONFIGS[0]}, else {DEFAULT_CONFIGS[1]})" in " ".join(
            options.split()
        )
