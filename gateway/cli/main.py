"""The command line: the only place that prints to the terminal and exits."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sys
from collections.abc import Coroutine, Sequence
from typing import Any

from gateway import __version__
from gateway.config import Config, ConfigError, load_config
from gateway.policy.routing import describe
from gateway.settings import SOURCES
from gateway.wire.values import mask_url

EXIT_CONFIG = 2


def _load(path: str) -> Config:
    try:
        return load_config(path, SOURCES)
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def cmd_check(args: argparse.Namespace) -> int:
    config = _load(args.config)
    for warning in config.warnings:
        print(warning, file=sys.stderr)
    print(f"{config.file}: OK")
    print(f"listen      {config.listen_host}:{config.listen_port}")
    for name, upstream in config.upstreams.items():
        print(f"upstream    {name} -> {mask_url(upstream.url)}")
    print(
        f"settings    {mask_url(config.settings.source)} (ttl {config.settings.ttl:g}s, on_error {config.settings.on_error})"
    )
    rows = [("#", "route", "portal", "paths", "hosts", "methods", "upstream")]
    for row, route in zip(describe(config.routes), config.routes, strict=True):
        rows.append((*row, route.upstream))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from gateway.settings import STATUS_DISABLED, STATUS_ENABLED, SettingsUnavailable, make_source

    config = _load(args.config)

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
        return 0

    return asyncio.run(read())


def cmd_run(args: argparse.Namespace) -> int:
    from gateway.cli.serve import serve
    from gateway.edge.server import AddressInUse

    config = _load(args.config)
    if args.log_format is not None:
        # The command line wins over the file, for this run (and across SIGHUPs).
        config = dataclasses.replace(config, log_format=args.log_format)
    try:
        return _run_loop(serve(config, config_path=args.config))
    except AddressInUse as exc:
        print(f"portal-gateway: {exc}", file=sys.stderr)
        return 1


def _run_loop(main: Coroutine[Any, Any, int]) -> int:
    """Run on uvloop where it is installed (a faster event loop), else on asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


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
        help="INFO writes the access log; WARNING and above leave it off (default INFO)",
    )
    parser.add_argument(
        "--log-format",
        choices=("json", "text"),
        default=default,
        help="the access log's form, over the config's log_format "
        "(default: text on a terminal, json otherwise)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="portal-gateway", description=__doc__)
    parser.add_argument("--version", action="version", version=f"portal-gateway {__version__}")
    _log_options(parser, default=None)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func, text in (
        ("run", cmd_run, "serve until SIGTERM/SIGINT"),
        ("check", cmd_check, "validate the config and print the route table"),
        ("status", cmd_status, "read the settings store once and print the portal state"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--config", required=True, metavar="FILE")
        _log_options(p, default=argparse.SUPPRESS)
        p.set_defaults(func=func)
    demo = sub.add_parser("demo", help="run the demo portal with the gateway in front of it")
    _log_options(demo, default=argparse.SUPPRESS)
    demo.add_argument("--config", default="config/demo.yaml", metavar="FILE")
    demo.add_argument("--data-dir", default=".demo-data", metavar="DIR")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    result: int = args.func(args)
    return result


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
