"""What `portal-gateway --help` says: the program, each command, exit codes, environment.

Kept apart from the parser (gateway/cli/main.py) so the texts read as one document; a test
holds every command and option to having a description.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable
from typing import Any

# Where `--config` is looked for when it is not given, first match wins.
DEFAULT_CONFIGS = ("/etc/portal-gateway/gateway.yaml", "./gateway.yaml")

DESCRIPTION = """\
portal-gateway: the Customer Portal switch at the edge. A reverse proxy (and a forward-auth
decision service for nginx, Caddy, Traefik and Envoy) in front of an enrollment portal: while
staff have the Customer Portal disabled, every customer route answers the unavailable page and
customers are logged out; Office Portal routes always pass untouched."""

CONFIG_HELP = f"the YAML config file (default: {DEFAULT_CONFIGS[0]}, else {DEFAULT_CONFIGS[1]})"

EPILOG = f"""\
exit codes:
  0  success: run stopped cleanly after SIGTERM/SIGINT; check found the config valid
     (warnings or not); status read the store
  1  run: a listener's address is already in use; status: the store could not be read;
     routes --strict: a warning remains
     override: refused (the store says disabled, or the control file is untrusted)
  2  a config error (each on stderr as FILE:LINE: dotted.key: message), no config file
     found, or a command-line error

environment:
  PORTAL_GATEWAY_SESSION_KEY  the key (>= 32 characters) that encrypts session stamps, when
                              the config sets none (customer_portal.session_key_env names
                              another variable); never logged. Without one, each process
                              picks a random key and stamps do not survive a restart

config file:
  --config FILE, else {DEFAULT_CONFIGS[0]}, else {DEFAULT_CONFIGS[1]}
  (`demo` reads config/demo.yaml)

Run `portal-gateway COMMAND --help` for a command's own options."""


def _codes(*lines: str) -> str:
    return "exit codes:\n" + "\n".join(f"  {line}" for line in lines)


COMMANDS: dict[str, tuple[str, str, str]] = {
    # name: (its line in the list of commands, its description, its exit codes)
    "run": (
        "serve the gateway until SIGTERM or SIGINT",
        "Serve the public listener (`listen`) and the admin listener (`admin_listen`, default "
        "127.0.0.1:8082). SIGHUP re-reads the config file (a broken file is logged and the "
        "running config kept). SIGTERM or SIGINT drains: readiness turns 503, the listener "
        "still accepts for proxy.drain_delay, then in-flight requests get proxy.drain_timeout.",
        _codes(
            "0  stopped cleanly after SIGTERM or SIGINT",
            "1  a listener's address is already in use",
            "2  a config error, or no config file found",
        ),
    ),
    "check": (
        "validate the config and print what it resolves to",
        "Validate the config file and print the resolved listen and admin addresses, the "
        "upstreams, the settings store and the route table (passwords masked). Every error is "
        "reported at once on stderr as FILE:LINE: dotted.key: message; warnings (valid, but "
        "costly or exposed) as FILE:LINE: key: warning: message.",
        _codes("0  valid, warnings or not", "2  invalid, or no config file found"),
    ),
    "status": (
        "read the settings store once and print the Customer Portal's state",
        "Read staff's setting from the store the config names, once, and print it in the "
        "Office Portal's words (You are currently using the Customer Portal. / You are "
        "currently NOT using the Customer Portal.), the source (password masked) and any "
        "error.",
        _codes(
            "0  read",
            "1  the store could not be read",
            "2  a config error, or no config file found",
        ),
    ),
    "preview-link": (
        "print a staff preview link, or revoke every link issued",
        "Print BASE/_gateway/preview/<token>: opened in a browser, it lets that browser see "
        "the customer routes while the Customer Portal is disabled, until the link expires "
        "(--for, default 2h, at most settings.max_override). The token is signed with "
        "customer_portal.session_key, which every gateway must share. --revoke-all "
        "invalidates every link issued so far (through the control file beside the config).",
        _codes(
            "0  printed the link, or revoked",
            "1  the control file could not be read or written",
            "2  a config error, no session key, --for past settings.max_override, a --base-url "
            "that is no origin, or no config file found",
        ),
    ),
    "routes": (
        "classify the upstream's paths as the gate does, and warn about doubtful ones",
        "Read the upstream's paths (--against: one a line, optionally after a method, or an "
        "OpenAPI 3 document in JSON or YAML) and print how the gate classifies each, as "
        "METHOD PATH ROUTE PORTAL (* for any method; route - for a path the gateway answers "
        "itself). Then, as FILE:LINE: warning: ..., each path whose words suggest a customer "
        "action (login, session, enroll, drop, transfer, pay, checkout, cart, account) that "
        "falls to a public route, or to an office route with no hosts:, which pass while the "
        "Customer Portal is disabled; --ignore lists the paths accepted.",
        _codes(
            "0  classified (warnings or not, without --strict)",
            "1  --strict, and a warning remains",
            "2  a config error, a bad --against or --ignore file, or no config file found",
        ),
    ),
    "override": (
        "set, clear or show a timed override of the store's setting",
        "Write a timed override into settings.override_file, which every gateway reads once "
        "per settings.ttl: `override disable --for 30m --reason TEXT [--message TEXT]` switches "
        "the Customer Portal off for customers until it ends; `override enable --for 10m "
        "--reason TEXT` keeps them served through a store outage only, and is refused while "
        "the store says disabled; `override clear` removes it; `override show` prints it. "
        "--for is capped by settings.max_override (default 24h). Each change is an audit "
        "line on stderr: the OS user, when, why and until.",
        _codes(
            "0  written (or shown)",
            "1  refused: the store says disabled, or the control file is untrusted",
            "2  a config error, or --for/--reason missing, malformed or past the cap",
        ),
    ),
    "demo": (
        "run the demo portal with the gateway in front of it",
        "Run the demo enrollment portal (portal_demo, on 127.0.0.1:8081) with the gateway in "
        "front of it on 127.0.0.1:8080: what `make demo` runs, from a checkout only (the demo "
        "is not in the wheel). Ctrl-C stops both.",
        _codes(
            "0  stopped",
            "1  a demo port is already in use",
            "2  a config error, or the demo is not installed",
        ),
    ),
}


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs as written; option help wrapped, never inside a path."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)


def add_command(
    sub: Any, name: str, func: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    """A subcommand with its COMMANDS texts; `sub` is what `add_subparsers()` returned."""
    summary, description, codes = COMMANDS[name]
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=summary,
        description=textwrap.fill(description, 92, break_on_hyphens=False),
        epilog=codes,
        formatter_class=Formatter,
    )
    parser.set_defaults(func=func)
    return parser
