"""`portal-gateway routes`: the upstream's paths as the gate classifies them, and the doubtful.

The table is `METHOD PATH ROUTE PORTAL`, one row an endpoint (`*`: every method; a path that
routes otherwise for a method some route names gets a row for that method too); a path the
gateway answers itself shows route `-` and why. Then a warning for each customer action that
a route lets through while the Customer Portal is disabled (gateway/policy/lint.py), less
those `--ignore` accepts. Exit 0; 1 with `--strict` while a warning remains; 2 for a bad file.
"""

from __future__ import annotations

import argparse
import sys

from gateway.cli.pathlist import PathsError, read_against, read_ignores
from gateway.config import Config
from gateway.policy.lint import Finding, Row, accepts, classify_endpoint, default_host, findings
from gateway.wire import hosts

EXIT_WARNINGS = 1
EXIT_BAD_FILE = 2


def host_option(value: str) -> str:
    """`--host`: one host name (a port is allowed and ignored, as routing ignores it)."""
    if hosts.canonical_host(value) is None:
        raise argparse.ArgumentTypeError(f"expected a host name, got {value!r}")
    return value


def add_options(parser: argparse.ArgumentParser) -> None:
    """The command's own options (`--config` and the log options are added as for the rest)."""
    parser.add_argument(
        "--against",
        required=True,
        metavar="FILE",
        help="the upstream's paths: one a line, optionally after a method (POST /payments; "
        "# comments), or an OpenAPI 3 document in JSON or YAML",
    )
    parser.add_argument(
        "--ignore",
        metavar="FILE",
        help="paths accepted as they route, in the same one-a-line form: their warnings are "
        "left out",
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 while a warning remains (for CI)"
    )
    parser.add_argument(
        "--host",
        type=host_option,
        help="the Host to classify paths under when the file names none (default: the first "
        "server_names entry, else a host no route's hosts: names)",
    )


def shown(text: str) -> str:
    """`text` with each control character written as its escape (`\\x1b`): the files are
    the upstream's text, and an escape sequence must not reach the terminal of whoever lints."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _cells(row: Row) -> tuple[str, ...]:
    target = shown(row.endpoint.target)
    if row.route is None:
        return (row.method, target, "-", "-", f"({row.refusal})")
    return (row.method, target, row.route.name, row.route.portal)


def _table(rows: list[Row]) -> list[str]:
    cells = [("METHOD", "PATH", "ROUTE", "PORTAL"), *(_cells(r) for r in rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(4)]
    # The refusal, when there is one, comes last and unpadded.
    return [
        "  ".join(v.ljust(w) for v, w in zip(c, [*widths, 0], strict=False)).rstrip() for c in cells
    ]


def lint_routes(config: Config, args: argparse.Namespace) -> int:
    try:
        endpoints = read_against(args.against)
        accepted = read_ignores(args.ignore) if args.ignore else []
    except PathsError as exc:
        for problem in exc.problems:
            print(shown(problem), file=sys.stderr)
        return EXIT_BAD_FILE
    host = args.host or default_host(config)
    rows = [row for e in endpoints for row in classify_endpoint(e, config, host)]
    for line in _table(rows):
        print(line)
    kept: list[Finding] = []
    ignored = 0
    used: set[int] = set()
    for finding in findings(rows):
        covering = [i for i, a in enumerate(accepted) if accepts(a, finding.row)]
        used.update(covering)
        if covering:
            ignored += 1
        else:
            kept.append(finding)
    for finding in kept:
        print(shown(f"{finding.row.endpoint.where}: warning: {finding.message}"))
    for i, accept in enumerate(accepted):
        if i not in used:
            what = f"{accept.method or '*'} {accept.target}"
            print(
                shown(f"{accept.where}: note: {what} is accepted but no listed path warns for it")
            )
    count = f"{len(kept)} warning{'' if len(kept) == 1 else 's'}"
    print(f"{count if kept else 'no warnings'}{f', {ignored} ignored' if ignored else ''}")
    return EXIT_WARNINGS if args.strict and kept else 0
