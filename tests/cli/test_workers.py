"""`portal-gateway run --workers N` (gateway.cli.workers): real child processes on one port.

Which worker answered is read from the kernel, not from the gateway: an upstream or a store
handler looks up, in /proc, which worker process owns the other end of its connection.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from gateway.cli.workers import (
    START_ATTEMPTS,
    Supervisor,
    WorkerLink,
    describe_exit,
    mark_dead,
    run_worker,
    supervise,
    worker_count,
    worker_environ,
)
from gateway.config import load_config
from tests.conftest import ENABLED_STORE, ROOT, config_text
from tests.processes import ENV, free_port


def socket_owner(port: int, pids: set[int]) -> int | None:
    """The pid among `pids` holding the TCP socket whose local port is `port`."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if int(cols[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{cols[9]}]")
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    return pid
        except OSError:
            continue  # a worker that just exited
    return None


def children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry))
    return found


@dataclass
class Seen:
    """The worker pids a test server saw, in order."""

    pids: list[int | None] = field(default_factory=list)
    workers: Callable[[], set[int]] = set

    def note(self, request: web.Request) -> None:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.pids.append(socket_owner(peer[1], self.workers()) if peer else None)


async def recording_server(
    aiohttp_server: AiohttpServer, seen: Seen, answer: Callable[[web.Request], Awaitable[Any]]
) -> str:
    async def handle(request: web.Request) -> web.StreamResponse:
        seen.note(request)
        result: web.StreamResponse = await answer(request)
        return result

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    server = await aiohttp_server(app)
    return f"http://127.0.0.1:{server.port}"


async def upstream_answer(request: web.Request) -> web.Response:
    if request.path == "/office/slow":
        await asyncio.sleep(1.0)
    return web.Response(text=f"upstream saw {request.method} {request.path}")


async def store_answer(request: web.Request) -> web.Response:
    return web.json_response({"enabled": True})


@dataclass
class Workers:
    proc: asyncio.subprocess.Process | None  # `portal-gateway run --workers N`, or
    supervisor: Supervisor | None  # the supervisor in this process, its workers children
    port: int
    config: Path
    log_file: Path
    caplog: pytest.LogCaptureFixture | None = None
    task: asyncio.Task[int] | None = None  # the in-process supervisor's run()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def pids(self) -> set[int]:
        if self.proc is not None:
            return children(self.proc.pid)
        assert self.supervisor is not None
        procs = [slot.proc for slot in self.supervisor.slots]
        return {p.pid for p in procs if p is not None and p.returncode is None}

    def log(self) -> str:
        """The workers' log and the supervisor's."""
        ours = self.caplog.text if self.caplog is not None else ""
        return self.log_file.read_text() + ours

    async def until_logged(self, pattern: str, count: int = 1) -> list[str]:
        for _ in range(300):
            found = re.findall(pattern, self.log())
            if len(found) >= count:
                return found
            await asyncio.sleep(0.05)
        raise AssertionError(f"{pattern!r} logged fewer than {count} times:\n{self.log()}")

    async def fresh_gets(self, path: str, n: int) -> list[int]:
        """`n` GETs, each on its own connection (the kernel picks a worker per connection)."""
        statuses = []
        for _ in range(n):
            async with (
                aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as s,
                s.get(self.url(path)) as resp,
            ):
                statuses.append(resp.status)
        return statuses


def write_config(path: Path, port: int, upstream_url: str, store_url: str, **kw: Any) -> None:
    extra = {
        "listen": f"127.0.0.1:{port}",
        "admin_listen": f"127.0.0.1:{kw.pop('admin_port')}",
        "proxy": {"drain_delay": 0.3, "drain_timeout": 5},
        **kw.pop("extra", {}),
    }
    settings = kw.pop(
        "settings", {"source": f"{store_url}/settings", "field": "enabled", "ttl": 0.3}
    )
    path.write_text(config_text(upstream_url, extra, settings=settings, **kw))


@asynccontextmanager
async def workers(
    tmp_path: Path, upstream_url: str, store_url: str, *, count: int = 2, wait: bool = True,
    options: tuple[str, ...] = (),
) -> AsyncIterator[Workers]:  # fmt: skip
    port, config, log_file = free_port(), tmp_path / "run.yaml", tmp_path / "run.log"
    write_config(config, port, upstream_url, store_url, admin_port=free_port())
    with log_file.open("w") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway", "run", "--config", str(config),
            "--workers", str(count), *options,
            stdout=subprocess.DEVNULL, stderr=log, env=ENV, cwd=ROOT,
        )  # fmt: skip
    running = Workers(proc, None, port, config, log_file)
    try:
        if wait:
            await running.until_logged(r"worker \d serving \(pid \d+\)", count)
        yield running
    finally:
        if proc.returncode is None:
            for pid in running.pids():
                os.kill(pid, signal.SIGKILL)
            proc.kill()
            await proc.wait()


@asynccontextmanager
async def supervised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, upstream_url: str, store_url: str,
    *, port: int | None = None, wait: bool = True,
) -> AsyncIterator[Workers]:  # fmt: skip
    """A Supervisor in this process (its code measured by coverage), two worker children."""
    port, config, log_file = port or free_port(), tmp_path / "run.yaml", tmp_path / "run.log"
    write_config(config, port, upstream_url, store_url, admin_port=free_port())
    (tmp_path / "metrics").mkdir()
    env = {**worker_environ(str(config), str(tmp_path / "metrics")), **ENV}
    command = [sys.executable, "-m", "gateway", "run", "--config", str(config), "--workers", "1"]
    caplog.set_level(logging.INFO, "gateway")
    with log_file.open("w") as log:
        sup = Supervisor(2, load_config(config), str(config), command, env, stderr=log)
        task = asyncio.create_task(sup.run())
        running = Workers(None, sup, port, config, log_file, caplog, task)
        try:
            if wait:
                await running.until_logged(r"worker \d serving \(pid \d+\)", 2)
            yield running
        finally:
            sup.stop.set()
            await task


@pytest.fixture
async def servers(aiohttp_server: AiohttpServer) -> tuple[Seen, str, Seen, str]:
    up, store = Seen(), Seen()
    up_url = await recording_server(aiohttp_server, up, upstream_answer)
    store_url = await recording_server(aiohttp_server, store, store_answer)
    return up, up_url, store, store_url


Servers = tuple[Seen, str, Seen, str]


async def until_both_seen(gateway: Workers, seen: Seen, path: str = "/office/x") -> set[int]:
    """GET `path` on fresh connections until the upstream has seen both workers."""
    pids = gateway.pids()
    assert len(pids) == 2
    seen.workers = gateway.pids
    for _ in range(100):
        assert await gateway.fresh_gets(path, 4) == [200] * 4
        if pids <= set(seen.pids):
            return pids
    raise AssertionError(f"the upstream saw {set(seen.pids)}, not both of {pids}")


@pytest.mark.slow
async def test_two_workers_both_serve_and_both_read_the_store(
    tmp_path: Path, servers: Servers
) -> None:
    up, up_url, store, store_url = servers
    # --log-format reaches the workers (their stderr, a file here, would make it JSON).
    async with workers(tmp_path, up_url, store_url, options=("--log-format", "text")) as gateway:
        store.workers = gateway.pids
        pids = await until_both_seen(gateway, up)
        before = len(store.pids)
        for _ in range(100):  # ttl 0.3 s: each worker polls on its own
            if pids <= set(store.pids[before:]):
                break
            await asyncio.sleep(0.1)
        assert pids <= set(store.pids[before:])
        # One listener port, one admin port, one process each: SO_REUSEPORT, not a proxy.
        assert gateway.log().count("portal-gateway listening on") == 2
        # A real SIGHUP to the supervisor reaches both.
        assert gateway.proc is not None
        gateway.proc.send_signal(signal.SIGHUP)
        await gateway.until_logged(r"SIGHUP: \S+ applied", 2)
        assert await gateway.fresh_gets("/office/x", 4) == [200] * 4
        # Each worker writes its own access lines, text, whole, to the one stderr.
        access = r'\dZ 127\.0\.0\.1 "GET /office/x" 200 [^\n]* worker=(\d+)\n'
        await gateway.until_logged(access, 8)
        log = gateway.log()
        assert {int(pid) for pid in re.findall(access, log)} == pids
        assert not [line for line in log.splitlines() if line.startswith("{")]


@pytest.mark.slow
async def test_a_killed_worker_is_restarted(
    tmp_path: Path, servers: Servers, caplog: pytest.LogCaptureFixture
) -> None:
    up, up_url, _, store_url = servers
    async with supervised(tmp_path, caplog, up_url, store_url) as gateway:
        pids = await until_both_seen(gateway, up)
        victim = min(pids)
        os.kill(victim, signal.SIGKILL)
        await gateway.until_logged(
            rf"worker \d \(pid {victim}\) was killed by SIGKILL; restarting it in 0.5s"
        )
        await gateway.until_logged(r"worker \d serving \(pid \d+\)", 3)
        up.pids.clear()
        new = await until_both_seen(gateway, up)
        assert victim not in new and len(new - pids) == 1


@pytest.mark.slow
async def test_sighup_reaches_every_worker(
    tmp_path: Path,
    servers: Servers,
    aiohttp_server: AiohttpServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    up, up_url, _, store_url = servers
    other = Seen()
    other_url = await recording_server(aiohttp_server, other, upstream_answer)
    async with supervised(tmp_path, caplog, up_url, store_url, wait=False) as gateway:
        assert gateway.supervisor is not None
        # Before the workers serve: held back (SIGHUP would kill them), sent once they do.
        await asyncio.sleep(0.1)
        gateway.supervisor.hup()
        await gateway.until_logged(r"worker \d serving \(pid \d+\)", 2)
        await gateway.until_logged(r"SIGHUP: \S+ applied", 2)
        pids = await until_both_seen(gateway, up)
        admin_port = int(
            re.findall(r"admin_listen: 127.0.0.1:(\d+)", gateway.config.read_text())[0]
        )
        # A broken file: every worker says why and keeps serving with its running config.
        write_config(gateway.config, gateway.port, other_url, store_url, admin_port=admin_port,
                     settings={"source": f"{store_url}/settings", "field": "enabled", "ttl": "soon"})  # fmt: skip
        gateway.supervisor.hup()
        await gateway.until_logged(r"SIGHUP: \S+ is invalid; keeping the running config", 2)
        up.pids.clear()
        assert await until_both_seen(gateway, up) == pids
        assert other.pids == []
        # A good file (another upstream): both workers apply it without a restart.
        write_config(gateway.config, gateway.port, other_url, store_url, admin_port=admin_port)
        gateway.supervisor.hup()
        await gateway.until_logged(r"SIGHUP: \S+ applied", 4)
        before = len(up.pids)
        assert await until_both_seen(gateway, other) == pids
        assert len(up.pids) == before
        assert gateway.log().count("SIGHUP: every worker re-reads the config") == 3


@pytest.mark.slow
async def test_sigterm_drains_every_worker_and_the_parent_exits_0(
    tmp_path: Path, servers: Servers
) -> None:
    up, up_url, _, store_url = servers
    async with workers(tmp_path, up_url, store_url) as gateway:
        pids = await until_both_seen(gateway, up)
        up.pids.clear()

        async def slow() -> tuple[int, str]:
            connector = aiohttp.TCPConnector(force_close=True)
            async with (
                aiohttp.ClientSession(connector=connector) as s,
                s.get(gateway.url("/office/slow")) as resp,
            ):
                return resp.status, await resp.text()

        requests = []
        for _ in range(100):  # until a slow request is in flight on each worker
            requests.append(asyncio.create_task(slow()))
            await asyncio.sleep(0.02)
            if pids <= set(up.pids):
                break
        assert pids <= set(up.pids)
        assert gateway.proc is not None
        gateway.proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(gateway.proc.wait(), 30) == 0
        assert [await r for r in requests] == [(200, "upstream saw GET /office/slow")] * len(
            requests
        )
        log = gateway.log()
        assert log.count("draining: readiness 503; still accepting for 0.3s") == 2
        assert log.count("stopping: no new connections; in-flight requests have 5.0s") == 2
        assert all(not Path(f"/proc/{pid}").exists() for pid in pids)


@pytest.mark.slow
def test_a_worker_that_cannot_start_ends_the_supervisor_with_exit_1(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO, "gateway")
    with socket.socket() as taken:  # another program on the port, without SO_REUSEPORT
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "run.yaml"
        write_config(config, port, "http://127.0.0.1:9", "", admin_port=free_port(),
                     settings={"source": ENABLED_STORE, "field": "enabled"})  # fmt: skip
        argv = ["run", "--config", str(config), "--workers", "2"]
        assert supervise(load_config(config), str(config), 2, argv) == 1
    assert re.fullmatch(
        rf"portal-gateway: worker \d could not start \({START_ATTEMPTS} attempts\): "
        rf"127\.0\.0\.1:{port} is already in use",
        capsys.readouterr().err.splitlines()[-1],
    )
    assert re.search(
        rf"worker \d \(pid \d+\) exited with 1 before serving: 127\.0\.0\.1:{port} is already "
        r"in use; restarting it in 0.5s",
        caplog.text,
    )
    assert "restarting it in 1s" in caplog.text
    # The metrics directory the workers were given is gone with the supervisor.
    metrics = re.findall(r"metrics in (\S+)", caplog.text)
    assert metrics and not Path(metrics[0]).exists()


@pytest.mark.slow
async def test_workers_drain_when_the_supervisor_is_killed(
    tmp_path: Path, servers: Servers
) -> None:
    _, up_url, _, store_url = servers
    async with workers(tmp_path, up_url, store_url) as gateway:
        pids = gateway.pids()
        assert gateway.proc is not None
        gateway.proc.kill()
        await gateway.proc.wait()
        for _ in range(200):
            if not any(Path(f"/proc/{pid}").exists() for pid in pids):
                break
            await asyncio.sleep(0.05)
        assert gateway.log().count("the supervisor has gone; draining") == 2
        assert not any(Path(f"/proc/{pid}").exists() for pid in pids)


def test_worker_count_is_a_positive_number_or_auto() -> None:
    assert worker_count("auto") == len(os.sched_getaffinity(0))
    assert worker_count("3") == 3
    for bad in ("0", "-2", "many"):
        with pytest.raises(argparse.ArgumentTypeError) as caught:
            worker_count(bad)
        assert str(caught.value) == f"expected a number of at least 1 or 'auto', not {bad!r}"


def test_an_exit_is_described_by_its_code_or_signal() -> None:
    assert describe_exit(1) == "exited with 1"
    assert describe_exit(-signal.SIGKILL) == "was killed by SIGKILL"


def _key_env_config(tmp_path: Path, **portal: Any) -> str:
    path = tmp_path / "gateway.yaml"
    path.write_text(config_text("http://127.0.0.1:9", portal={"session_key": None, **portal}))
    return str(path)


@pytest.mark.parametrize("name", [None, "MY_GATEWAY_KEY"])
def test_without_a_session_key_the_workers_share_a_generated_one(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    name: str | None,
) -> None:
    monkeypatch.delenv("PORTAL_GATEWAY_SESSION_KEY", raising=False)
    config = _key_env_config(tmp_path, **({"session_key_env": name} if name else {}))
    with caplog.at_level(logging.WARNING):
        env = worker_environ(config, "/tmp/metrics")
    variable = name or "PORTAL_GATEWAY_SESSION_KEY"
    key = env[variable]
    assert len(key) >= 32 and key != worker_environ(config, "/tmp/metrics")[variable]
    assert env["PROMETHEUS_MULTIPROC_DIR"] == "/tmp/metrics"
    assert key not in caplog.text
    assert (
        f"no customer_portal.session_key (or {variable}): the workers share a key generated "
        "for this run; session stamps will not survive a restart" in caplog.messages
    )


def test_a_configured_session_key_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PORTAL_GATEWAY_SESSION_KEY", "e" * 40)
    assert worker_environ(_key_env_config(tmp_path), "/m")["PORTAL_GATEWAY_SESSION_KEY"] == "e" * 40
    monkeypatch.delenv("PORTAL_GATEWAY_SESSION_KEY")
    path = tmp_path / "keyed.yaml"
    path.write_text(config_text("http://127.0.0.1:9"))
    assert "PORTAL_GATEWAY_SESSION_KEY" not in worker_environ(str(path), "/m")


def _reason(peer: socket.socket) -> str:
    peer.settimeout(5)
    return peer.makefile().readline().rstrip("\n")


def test_a_worker_reports_a_config_it_rejects(tmp_path: Path) -> None:
    ours, theirs = socket.socketpair()
    path = tmp_path / "broken.yaml"
    path.write_text(config_text("http://127.0.0.1:9", {"listen": "nowhere:x"}))
    assert run_worker(str(path), WorkerLink(theirs), asyncio.run) == 2
    assert re.fullmatch(rf"failed {re.escape(str(path))}:1: listen: .+", _reason(ours))
    ours.close()


def test_a_worker_reports_a_taken_port(tmp_path: Path) -> None:
    ours, theirs = socket.socketpair()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        path = tmp_path / "gateway.yaml"
        path.write_text(config_text("http://127.0.0.1:9", {"listen": f"127.0.0.1:{port}"}))
        assert run_worker(str(path), WorkerLink(theirs), asyncio.run) == 1
    assert _reason(ours) == f"failed 127.0.0.1:{port} is already in use"
    ours.close()


def test_a_dead_workers_live_gauges_are_dropped(tmp_path: Path) -> None:
    pytest.importorskip("prometheus_client")
    (tmp_path / "gauge_livesum_4242.db").write_bytes(b"")
    (tmp_path / "counter_4242.db").write_bytes(b"")
    mark_dead(4242, str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counter_4242.db"]
