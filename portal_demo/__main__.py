"""`python -m portal_demo --port 8081 --data-dir .demo-data`: serve the demo portal alone."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import signal
import sys
from pathlib import Path

from aiohttp import web

from portal_demo.app import create_app


async def serve(host: str, port: int, data_dir: Path) -> int:
    runner = web.AppRunner(create_app(data_dir), shutdown_timeout=2)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, reuse_address=True).start()
    except OSError as exc:
        await runner.cleanup()
        if exc.errno == errno.EADDRINUSE:
            print(f"portal_demo: port {port} on {host} is already in use", file=sys.stderr)
            return 2
        print(f"portal_demo: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        return 2
    print(f"Demo portal: http://{host}:{port}/ (Office Portal: /office/), data in {data_dir}")
    print("Ctrl-C stops it.", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portal_demo", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--data-dir", type=Path, default=Path(".demo-data"))
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(serve(args.host, args.port, args.data_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
