"""The command line: the only place that prints to the terminal and exits."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Coroutine, Sequence
from typing import Any

from gateway import __version__
from gateway.cli.workers import worker_count
from gateway.config import Config, ConfigError, load_config
from gateway.policy.routing import describe
from gateway.settings import SOURCES
from gateway.wire.values import mask_url

EXIT_CONFIG = 2
DEFAULT_PREFIX: str = Config.admin_prefix  # the schema's default, when no --config says


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

    if args.gateway is not None:
        from gateway.cli.status import gateway_status

        # The running gateway's view; the config, when given, only says the prefix.
        prefix = _load(args.config).admin_prefix if args.config else DEFAULT_PREFIX
        return gateway_status(args.gateway, prefix)
    if args.config is None:
        print("portal-gateway status: give --config FILE or --gateway URL", file=sys.stderr)
        return EXIT_CONFIG
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
    from gateway.cli.workers import WorkerLink, run_worker, supervise
    from gateway.edge.server import AddressInUse

    link = WorkerLink.from_environ()
    if link is not None:  # started by `run --workers N` (gateway/cli/workers.py)
        return run_worker(args.config, link, _run_loop)
    config = _load(args.config)
    if args.workers > 1:
        return supervise(config, args.config, args.workers, args.argv)
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


# What `--help` tells an operator (the module docstring is for whoever reads the code).
DESCRIPTION = (
    "The Customer Portal kill switch at the edge: an aiohttp reverse proxy and forward-auth "
    "decision service that follows staff's 'Enable Customer Portal' setting."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="portal-gateway", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"portal-gateway {__version__}")
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func, text in (
        ("run", cmd_run, "serve until SIGTERM/SIGINT"),
        ("check", cmd_check, "validate the config and print the route table"),
        (
            "status",
            cmd_status,
            "print the portal state: the store's (--config) or a gateway's (--gateway)",
        ),
    ):
        p = sub.add_parser(name, help=text)
        # status may ask a running gateway instead (--gateway); the others need the file.
        p.add_argument("--config", required=name != "status", metavar="FILE")
        p.set_defaults(func=func)
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
    demo = sub.add_parser("demo", help="run the demo portal with the gateway in front of it")
    demo.add_argument("--config", default="config/demo.yaml", metavar="FILE")
    demo.add_argument("--data-dir", default=".demo-data", metavar="DIR")
    demo.set_defaults(func=cmd_demo)
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
