"""`portal-gateway run --workers N`: N worker processes on one port, and their supervisor.

Each worker is the single-process `run` (gateway/cli/serve.py) started again with
`--workers 1` and a socket to the supervisor in PORTAL_GATEWAY_WORKER_FD; the kernel spreads
new connections over the workers' SO_REUSEPORT listeners. The supervisor forwards SIGHUP
(every worker re-reads the config itself, and keeps its running one when the file is broken),
turns SIGTERM/SIGINT into a SIGTERM to every worker and waits for their drains, and restarts a
worker that dies, after a backoff. A worker that exits before it serves, START_ATTEMPTS times
in a row, ends the supervisor with exit 1 and the worker's reason.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO

from gateway.config import Config, ConfigError, load_config
from gateway.settings import SOURCES

log = logging.getLogger("gateway")

WORKER_FD_ENV = "PORTAL_GATEWAY_WORKER_FD"
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
START_ATTEMPTS = 3  # consecutive exits before serving that end the supervisor
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 30.0  # seconds; doubled per death in a row
STEADY = 60.0  # a worker that served this long starts its slot's backoff from the first step
KILL_MARGIN = 10.0  # beyond drain_delay + drain_timeout, before SIGKILL


def worker_count(text: str) -> int:
    """`--workers`: a positive number, or `auto` for the CPUs this process may run on."""
    if text == "auto":
        return len(os.sched_getaffinity(0))
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1 or 'auto', not {text!r}")
    return count


class WorkerLink:
    """A worker's end of its socket to the supervisor: one status line up, EOF down."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    @classmethod
    def from_environ(cls) -> WorkerLink | None:
        """The link when this process was started by a supervisor, else None."""
        fd = os.environ.pop(WORKER_FD_ENV, None)
        return None if fd is None else cls(socket.socket(fileno=int(fd)))

    def _say(self, line: str) -> None:
        with contextlib.suppress(OSError):  # the supervisor is gone; on_parent_gone stops us
            self.sock.sendall(line.replace("\n", " ").encode()[:4000] + b"\n")

    def serving(self) -> None:
        self._say("serving")

    def failed(self, reason: str) -> None:
        self._say(f"failed {reason}")
        self.sock.close()

    def on_parent_gone(self, callback: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()

        def readable() -> None:
            # The supervisor never writes: readable means its end closed (it exited).
            loop.remove_reader(self.sock)
            log.error("the supervisor has gone; draining")
            callback()

        loop.add_reader(self.sock, readable)


def run_worker(
    config_path: str,
    link: WorkerLink,
    run_loop: Callable[..., int],
    edit: Callable[[Config], Config] = lambda config: config,
) -> int:
    """One worker: `run` as today (the config as `edit` leaves it), saying why it cannot start."""
    # Imported here: `--help` and `check` need no server (gateway/cli/main.py).
    from gateway.cli.serve import serve
    from gateway.edge.server import AddressInUse

    try:
        config = edit(load_config(config_path, SOURCES))
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        more = f" (and {len(exc.issues) - 1} more)" if len(exc.issues) > 1 else ""
        link.failed(f"{exc.issues[0]}{more}")
        return 2
    try:
        return run_loop(serve(config, config_path=config_path, worker=link))
    except AddressInUse as exc:
        print(f"portal-gateway: {exc}", file=sys.stderr)
        link.failed(str(exc))
        return 1


class _Asked(Mapping[str, str]):
    """os.environ, noting the names the config loader looks up (the session key's variable)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def __getitem__(self, name: str) -> str:
        self.names.append(name)
        return os.environ[name]

    def __iter__(self) -> Iterator[str]:
        return iter(os.environ)

    def __len__(self) -> int:
        return len(os.environ)


def worker_environ(config_path: str, metrics_dir: str) -> dict[str, str]:
    """The workers' environment: one session key for all, and the metrics directory."""
    asked = _Asked()
    config = load_config(config_path, SOURCES, environ=asked)
    env = {**os.environ, METRICS_DIR_ENV: metrics_dir}
    if config.customer_portal.session_key is None and asked.names:
        # SECURITY: without a configured key each worker would draw its own, and a stamp one
        # worker set would be refused by the next; the generated key is never logged.
        env[asked.names[-1]] = secrets.token_urlsafe(32)
        log.warning(
            "no customer_portal.session_key (or %s): the workers share a key generated for this "
            "run; session stamps will not survive a restart", asked.names[-1]
        )  # fmt: skip
    return env


def mark_dead(pid: int, metrics_dir: str) -> None:
    """Drop a dead worker's live gauges from the multiprocess metrics, when they are in use."""
    try:
        multiprocess = importlib.import_module("prometheus_client.multiprocess")
    except ImportError:
        return
    multiprocess.mark_process_dead(pid, metrics_dir)


def describe_exit(code: int) -> str:
    return f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with {code}"


@dataclass
class Slot:
    """Worker number `index`: its current process and its run of deaths."""

    index: int
    proc: asyncio.subprocess.Process | None = None
    serving: bool = False
    hup_pending: bool = False
    deaths: int = 0  # in a row, for the backoff
    start_failures: int = 0  # exits before serving, in a row


class Supervisor:
    """Keeps `count` workers running `command` until `stop` is set; `hup()` forwards SIGHUP.

    `supervise` maps the signals onto these; tests call them directly. `stderr` is the
    workers' (default: this process's).
    """

    def __init__(
        self,
        count: int,
        config: Config,
        config_path: str,
        command: Sequence[str],
        env: dict[str, str],
        stderr: IO[str] | None = None,
    ) -> None:
        self.slots = [Slot(i + 1) for i in range(count)]
        self.config_path, self.command, self.env = config_path, list(command), env
        self.stderr = stderr
        # How long the workers' drains may take before SIGKILL.
        self.budget = config.proxy.drain_delay + config.proxy.drain_timeout + KILL_MARGIN
        self.stop = asyncio.Event()
        self.failure: str | None = None

    async def run(self) -> int:
        tasks = [asyncio.create_task(self.keep(slot)) for slot in self.slots]
        await self.stop.wait()
        log.info("stopping %d workers", len(self.slots))
        self.signal_all(signal.SIGTERM)
        _, pending = await asyncio.wait(tasks, timeout=self.budget)
        if pending:
            log.error("workers still running after %ss; killing them", self.budget)
            self.signal_all(signal.SIGKILL)
            await asyncio.wait(pending)
        if self.failure is not None:
            print(f"portal-gateway: {self.failure}", file=sys.stderr)
            return 1
        return 0

    def signal_all(self, sig: signal.Signals) -> None:
        for slot in self.slots:
            if slot.proc is not None and slot.proc.returncode is None:
                slot.proc.send_signal(sig)

    def hup(self) -> None:
        log.info("SIGHUP: every worker re-reads the config")
        try:  # only for how long a drain may take; each worker logs what it applied or refused
            proxy = load_config(self.config_path, SOURCES).proxy
            self.budget = proxy.drain_delay + proxy.drain_timeout + KILL_MARGIN
        except ConfigError:
            pass
        for slot in self.slots:
            if slot.proc is None or slot.proc.returncode is not None:
                continue
            if slot.serving:
                slot.proc.send_signal(signal.SIGHUP)
            else:
                slot.hup_pending = True  # SIGHUP would kill it before its handler is in place

    async def keep(self, slot: Slot) -> None:
        """Run worker `slot`, restarting it with a backoff, until the supervisor stops."""
        while not self.stop.is_set():
            ours, theirs = socket.socketpair()
            env = {**self.env, WORKER_FD_ENV: str(theirs.fileno())}
            slot.proc = proc = await asyncio.create_subprocess_exec(
                *self.command, env=env, pass_fds=(theirs.fileno(),), stderr=self.stderr
            )
            theirs.close()
            if self.stop.is_set():  # stopped while it was being started: signal_all missed it
                proc.send_signal(signal.SIGTERM)
            started = time.monotonic()
            slot.serving = slot.hup_pending = False
            reader, writer = await asyncio.open_unix_connection(sock=ours)
            line = (await reader.readline()).decode().strip()
            if line == "serving":
                slot.serving, slot.start_failures = True, 0
                log.info("worker %d serving (pid %d)", slot.index, proc.pid)
                if slot.hup_pending:
                    proc.send_signal(signal.SIGHUP)
            code = await proc.wait()
            writer.close()
            mark_dead(proc.pid, self.env[METRICS_DIR_ENV])
            if self.stop.is_set():
                return
            why = f"worker {slot.index} (pid {proc.pid}) {describe_exit(code)}"
            if not slot.serving:
                slot.start_failures += 1
                reason = line.removeprefix("failed ") if line.startswith("failed ") else why
                if slot.start_failures >= START_ATTEMPTS:
                    self.failure = (
                        f"worker {slot.index} could not start ({START_ATTEMPTS} attempts): {reason}"
                    )
                    self.stop.set()
                    return
                why = f"{why} before serving: {reason}"
            if time.monotonic() - started >= STEADY:
                slot.deaths = 0
            delay = min(BACKOFF_FIRST * 2**slot.deaths, BACKOFF_MAX)
            slot.deaths += 1
            log.error("%s; restarting it in %gs", why, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), delay)


async def _supervise(supervisor: Supervisor) -> int:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, supervisor.stop.set)
    loop.add_signal_handler(signal.SIGHUP, supervisor.hup)
    return await supervisor.run()


def supervise(config: Config, config_path: str, count: int, argv: Sequence[str]) -> int:
    """`run --workers N` (N > 1): start N workers, supervise them, exit 0 after a drain."""
    metrics_dir = tempfile.mkdtemp(prefix="portal-gateway-metrics-")
    try:
        env = worker_environ(config_path, metrics_dir)
        # The worker's own command line is this one, told to be a single worker.
        command = [sys.executable, "-m", "gateway", *argv, "--workers", "1"]
        log.info("starting %d workers (config %s, metrics in %s)", count, config_path, metrics_dir)
        return asyncio.run(_supervise(Supervisor(count, config, config_path, command, env)))
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
