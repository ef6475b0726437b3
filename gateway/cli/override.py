"""`portal-gateway override disable|enable|clear|show`: the timed override, `artisan down` at
the edge.

Writes `settings.override_file` (gateway/settings/control.py) atomically; every gateway reads
it once per TTL. `disable` wins over the store until it ends or is cleared; `enable` only
covers a store outage (stale, store_unavailable, cold_start) and is refused while the store's
last good answer says disabled: staff's setting is never overruled. Each change is an audit
line on stderr (OS user, when, why, until).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import time
from collections.abc import Callable
from typing import Any

from gateway.cli.helptext import CONFIG_HELP
from gateway.cli.helptext import add_command as _command
from gateway.config import Config
from gateway.settings import SettingsUnavailable, make_source
from gateway.settings.control import Control, ControlRefused, Override, load_control, save_control
from gateway.settings.controlfeed import audit_line
from gateway.settings.ranking import enable_refused, live_override, window_at
from gateway.settings.statefile import load_state
from gateway.wire.values import parse_duration, rfc3339


def audit(line: str) -> None:
    """The audit line, on stderr whatever --log-level says (it is the record of who did it)."""
    print(f"portal-gateway: audit: {line}", file=sys.stderr)


EXIT_REFUSED = 1  # the control file cannot be trusted, or the store says disabled
EXIT_USAGE = 2  # a config error, or --for missing, malformed or past settings.max_override

Loader = Callable[[argparse.Namespace], Config]


def shown(seconds: float) -> str:
    """`1d`, `2h`, `30m`, `45s`: the largest unit that divides it, else seconds."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _fail(code: int, message: str) -> int:
    print(f"portal-gateway: {message}", file=sys.stderr)
    return code


def duration_for(text: str, cap: float) -> float | str:
    """`--for` in seconds, or why it is refused (the message names the cap)."""
    try:
        seconds = parse_duration(text)
    except ValueError:
        return f"--for: expected a duration such as 30m, 2h, 1d or seconds, got {text!r}"
    if seconds <= 0:
        return f"--for: must be more than 0, got {text!r}"
    if seconds > cap:
        return f"--for {text} is past settings.max_override ({shown(cap)}); ask for {shown(cap)} or less"
    return seconds


async def store_says(config: Config) -> bool | None:
    """The store's answer now; when it cannot be read, the state file's last good one; None
    when neither is known."""
    source = make_source(config.settings)
    try:
        async with asyncio.timeout(config.settings.timeout + 5):
            return (await source.read()).enabled
    except (SettingsUnavailable, TimeoutError):
        pass
    finally:
        await source.aclose()
    saved = load_state(config.settings.state_file) if config.settings.state_file else None
    return None if saved is None else saved.enabled


def _control(path: str) -> Control | str:
    try:
        return load_control(path)
    except ControlRefused as exc:
        return f"{exc}; fix or remove it first"


def _set(args: argparse.Namespace, config: Config, path: str) -> int:
    cap = config.settings.max_override
    if not args.reason or not args.reason.strip():
        return _fail(EXIT_USAGE, f"override {args.action}: --reason TEXT is required")
    seconds = duration_for(args.duration, cap)
    if isinstance(seconds, str):
        return _fail(EXIT_USAGE, seconds)
    if args.action == "enable":
        said = asyncio.run(store_says(config))
        if enable_refused(said):
            return _fail(
                EXIT_REFUSED,
                "override enable refused: the settings store says the Customer Portal is "
                "disabled, and an override never overrules staff's setting (it only covers a "
                "store outage)",
            )
    control = _control(path)
    if isinstance(control, str):
        return _fail(EXIT_REFUSED, control)
    now = time.time()
    override = Override(
        action=args.action,
        until=now + seconds,
        reason=args.reason.strip(),
        message=getattr(args, "message", None) or None,
        by=getpass.getuser(),
        at=now,
    )
    save_control(path, control.with_override(override))
    audit(audit_line(override))
    print(f"override {args.action} until {rfc3339(override.until)} written to {path}")
    print("every gateway applies it within one settings.ttl")
    return 0


def _clear(path: str) -> int:
    control = _control(path)
    if isinstance(control, str):
        return _fail(EXIT_REFUSED, control)
    if control.override is not None:
        save_control(path, control.with_override(None))
        was = control.override
        audit(
            f"override {was.action} cleared by {getpass.getuser()} at {rfc3339(time.time())} "
            f"(was until {rfc3339(was.until)}: {was.reason})"
        )
    print(f"no override in {path}")
    return 0


def _show(path: str) -> int:
    control = _control(path)
    if isinstance(control, str):
        return _fail(EXIT_REFUSED, control)
    override = control.override
    if override is None:
        print(f"no override in {path}")
        return 0
    state = "in force" if override.active(time.time()) else "expired"
    print(f"override {override.action} ({state}) until {rfc3339(override.until)}")
    print(f"set by {override.by or '?'} at {rfc3339(override.at)}: {override.reason}")
    if override.message:
        print(f"message: {override.message}")
    return 0


def control_lines(config: Config, now: float) -> list[str]:
    """What `status --config` adds: the override in force and the window in force, if any
    (the store's value is printed above them; these rank over it)."""
    lines = []
    path = config.settings.override_file
    control = _control(path) if path is not None else Control()
    if isinstance(control, str):
        lines.append(f"control file: {control}")
    elif (override := live_override(control.override, now)) is not None:
        lines.append(
            f"override: {override.action} until {rfc3339(override.until)} "
            f"by {override.by or '?'}: {override.reason}"
        )
    window = window_at(config.customer_portal.schedule, now)
    if window is not None:
        lines.append(f"schedule: a window is in force until {rfc3339(window.ends)}")
    return lines


def cmd_override(args: argparse.Namespace, load: Loader) -> int:
    config = load(args)
    path = config.settings.override_file
    if path is None:  # the loader always fills it in; a hand-made Config may not
        return _fail(EXIT_USAGE, "settings.override_file: not set")
    if args.action in ("disable", "enable"):
        return _set(args, config, path)
    return _clear(path) if args.action == "clear" else _show(path)


ACTIONS = {
    "disable": "switch the Customer Portal off for customers until --for has passed",
    "enable": "keep customers served through a store outage until --for has passed "
    "(refused while the store says disabled)",
    "clear": "remove the override: the store decides again",
    "show": "print the override in force, if any",
}


def add_override(sub: Any, load: Loader, log_options: Callable[..., None]) -> None:
    """`override` and its four actions, on the program's subparsers."""
    parser = _command(sub, "override", lambda args: cmd_override(args, load))
    actions = parser.add_subparsers(dest="action", required=True, title="actions", metavar="ACTION")
    for name, summary in ACTIONS.items():
        p = actions.add_parser(name, help=summary, description=summary)
        p.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
        log_options(p, default=argparse.SUPPRESS)
        if name in ("disable", "enable"):
            p.add_argument(
                "--for",
                dest="duration",
                required=True,
                metavar="DURATION",
                help="how long: 30m, 2h, 1d or seconds, at most settings.max_override "
                "(default 24h)",
            )
            p.add_argument(
                "--reason",
                required=True,
                metavar="TEXT",
                help="why, for the audit line and /_gateway/state",
            )
        if name == "disable":
            p.add_argument(
                "--message",
                metavar="TEXT",
                help="a note for customers on the unavailable page",
            )
