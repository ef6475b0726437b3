"""The command line: the only place that prints to the terminal and exits.

What `--help` says (commands, exit codes, environment) is in gateway/cli/helptext.py; each
option's own help is beside its `add_argument` here.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import sys
import time
from collections.abc import Coroutine, Sequence
from functools import partial
from typing import Any

from gateway import __version__
from gateway.cli.helptext import CONFIG_HELP, DEFAULT_CONFIGS, DESCRIPTION, EPILOG, Formatter
from gateway.cli.helptext import add_command as _command
from gateway.cli.override import add_override
from gateway.cli.preview import add_options as add_preview_options
from gateway.cli.routes import add_options as add_lint_options
from gateway.cli.routes import lint_routes
from gateway.cli.workers import worker_count
from gateway.config import Config, ConfigError, load_config
from gateway.config.crosschecks import show_address
from gateway.policy.routing import describe
from gateway.settings import SOURCES
from gateway.wire.values import mask_url

EXIT_CONFIG = 2
DEFAULT_PREFIX: str = Config.admin_prefix  # the schema's default, when no --config says


def config_path(args: argparse.Namespace) -> str:
    """`--config`, else the first of DEFAULT_CONFIGS that exists; exit 2 naming them all."""
    if args.config is not None:
        return str(args.config)
    for path in DEFAULT_CONFIGS:
        if os.path.exists(path):
            return path
    print(
        f"portal-gateway: no config file: neither {' nor '.join(DEFAULT_CONFIGS)} exists; "
        "pass --config FILE",
        file=sys.stderr,
    )
    raise SystemExit(EXIT_CONFIG)


def _load(path: str) -> Config:
    try:
        return load_config(path, SOURCES)
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def resolved(host: str, port: int) -> str:
    """A listener as it will bind: `127.0.0.1:8080`; `0.0.0.0:8080, [::]:8080 (*:8080)` for
    every interface; a name with the addresses it resolves to."""
    from gateway.edge.server import bind_addresses

    written = show_address(host, port)
    try:
        addresses = bind_addresses(host, port)
    except OSError as exc:
        return f"{written} (does not resolve: {exc})"
    shown = ", ".join(addresses)
    return shown if addresses == [written] else f"{shown} ({written})"


def _admin_line(config: Config) -> str:
    where = "none" if config.admin_listen is None else resolved(*config.admin_listen)
    if config.admin_public:
        where += "; admin_public: every reserved endpoint on listen too"
    return where


def cmd_check(args: argparse.Namespace) -> int:
    config = _load(config_path(args))
    for warning in config.warnings:
        print(warning, file=sys.stderr)
    print(f"{config.file}: OK")
    print(f"listen      {resolved(config.listen_host, config.listen_port)}")
    print(f"admin       {_admin_line(config)}")
    for name, upstream in config.upstreams.items():
        print(f"upstream    {name} -> {mask_url(upstream.url)}")
    print(
        f"settings    {mask_url(config.settings.source)} (ttl {config.settings.ttl:g}s, on_error {config.settings.on_error})"
    )
    portal = config.customer_portal
    if portal.mode == "shadow":
        print("mode        shadow: NOT enforced, customers pass (counted as would_block)")
    if portal.self_check is not None:
        checks = (("customer", portal.self_check.customer), ("office", portal.self_check.office))
        shown = ", ".join(f"{kind} GET {t.host}{t.target}" for kind, t in checks)
        print(f"self_check  {shown}")
    rows = [("#", "route", "portal", "paths", "hosts", "methods", "upstream")]
    for row, route in zip(describe(config.routes), config.routes, strict=True):
        rows.append((*row, route.upstream))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from gateway.settings import STATUS_DISABLED, STATUS_ENABLED, SettingsUnavailable, make_source

    if args.gateway is not None:
        from gateway.cli.status import gateway_status

        # The running gateway's view; the config, when given, only says the prefix.
        prefix = _load(args.config).admin_prefix if args.config else DEFAULT_PREFIX
        return gateway_status(args.gateway, prefix)
    config = _load(config_path(args))

    async def read() -> int:
        source = make_source(config.settings)
        try:
            async with asyncio.timeout(config.settings.timeout + 5):
                reading = await source.read()
        except (SettingsUnavailable, TimeoutError) as exc:
            print("The Customer Portal state could not be read.")
            print(f"source: {source.description}")
            print(f"error: {exc or 'timed out'}")
            return 1
        finally:
            await source.aclose()
        print(STATUS_ENABLED if reading.enabled else STATUS_DISABLED)
        print(f"source: {source.description}")
        from gateway.cli.override import control_lines

        for line in control_lines(config, time.time()):
            print(line)
        return 0

    return asyncio.run(read())


def cmd_run(args: argparse.Namespace) -> int:
    from gateway.cli.serve import serve
    from gateway.cli.workers import WorkerLink, run_worker, supervise
    from gateway.edge.server import AddressInUse

    link = WorkerLink.from_environ()
    path = config_path(args)
    if link is not None:  # started by `run --workers N` (gateway/cli/workers.py)
        return run_worker(
            path, link, _run_loop, partial(with_log_format, log_format=args.log_format)
        )
    config = with_log_format(_load(path), args.log_format)
    if args.workers > 1:
        return supervise(config, path, args.workers, args.argv)
    try:
        return _run_loop(serve(config, config_path=path))
    except AddressInUse as exc:
        print(f"portal-gateway: {exc}", file=sys.stderr)
        return 1


def with_log_format(config: Config, log_format: str | None) -> Config:
    """`--log-format` wins over the file's `log_format`, for this run (and across SIGHUPs)."""
    if log_format is None:
        return config
    # argparse allows only these two
    return dataclasses.replace(config, log_format="json" if log_format == "json" else "text")


def _run_loop(main: Coroutine[Any, Any, int]) -> int:
    """Run on uvloop where it is installed (a faster event loop), else on asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def cmd_preview_link(args: argparse.Namespace) -> int:
    from gateway.cli.preview import preview_link

    return preview_link(_load(config_path(args)), args)


def cmd_routes(args: argparse.Namespace) -> int:
    return lint_routes(_load(config_path(args)), args)


def cmd_demo(args: argparse.Namespace) -> int:
    from gateway.cli.demo import run_demo

    return run_demo(args)


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _log_options(parser: argparse.ArgumentParser, *, default: object) -> None:
    """`--log-level` and `--log-format`, on the program and on each command.

    A command's copies default to SUPPRESS, so a value given before the command is kept
    unless the same option is given again after it.
    """
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default="INFO" if default is None else default,
        help="the least severe log records written to stderr; INFO includes the access log, "
        "WARNING and above leave it off (default: INFO)",
    )
    parser.add_argument(
        "--log-format",
        choices=("json", "text"),
        default=default,
        help="the access log's form, over the config's log_format "
        "(default: text on a terminal, json otherwise)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="portal-gateway", description=DESCRIPTION, epilog=EPILOG, formatter_class=Formatter
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"portal-gateway {__version__}",
        help="print the version and exit",
    )
    _log_options(parser, default=None)
    sub = parser.add_subparsers(dest="command", required=True, title="commands", metavar="COMMAND")
    for name, func in (("run", cmd_run), ("check", cmd_check), ("status", cmd_status)):
        p = _command(sub, name, func)
        p.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
        _log_options(p, default=argparse.SUPPRESS)
        if name == "status":
            p.add_argument(
                "--gateway",
                metavar="URL",
                help="ask the running gateway whose admin listener is at this origin "
                "(http://127.0.0.1:8082) what it believes, and why",
            )
        if name == "run":
            p.add_argument(
                "--workers",
                type=worker_count,
                default=1,
                metavar="N",
                help="worker processes serving the same port (default 1: this process "
                "alone; 'auto': one per CPU this process may use)",
            )
    preview = _command(sub, "preview-link", cmd_preview_link)
    preview.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    add_preview_options(preview)
    _log_options(preview, default=argparse.SUPPRESS)
    lint = _command(sub, "routes", cmd_routes)
    lint.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    add_lint_options(lint)
    _log_options(lint, default=argparse.SUPPRESS)
    add_override(sub, lambda args: _load(config_path(args)), _log_options)
    demo = _command(sub, "demo", cmd_demo)
    demo.add_argument(
        "--config",
        default="config/demo.yaml",
        metavar="FILE",
        help="the gateway's config for the demo (default: config/demo.yaml)",
    )
    demo.add_argument(
        "--data-dir",
        default=".demo-data",
        metavar="DIR",
        help="where the demo keeps its SQLite store, its session key and the gateway's state "
        "file (default: .demo-data)",
    )
    _log_options(demo, default=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # what `run --workers` re-runs
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    result: int = args.func(args)
    return result


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
