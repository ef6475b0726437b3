"""The bench's run: which processes each target needs, started on first use, and the rounds
of wrk over the targets, with each gateway's CPU, RSS and store reads around each run."""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench_measure import summarize, wrk
from bench_servers import (
    FRONT,
    LOGIN_COOKIE,
    PAGE,
    UPSTREAM,
    Processes,
    cpu_seconds,
    forward_auth_gateway,
    free_port,
    gateway_pids,
    get,
    load_average,
    nginx_forward_auth,
    proxy_gateway,
    rss_mib,
    wait_for,
    wait_status,
)
from bench_store import CountingStore
from bench_stream import stream_through

GATEWAYS = {
    "gw-on": ("proxy", True, True, 1),
    "gw-on-nolog": ("proxy", True, False, 1),
    "gw-off": ("proxy", False, True, 1),
    "gw-off-nolog": ("proxy", False, False, 1),
    "gw2-on": ("proxy", True, True, 2),
    "gw2-off": ("proxy", False, True, 2),
    "fa-on": ("forward-auth", True, True, 1),
    "fa-off": ("forward-auth", False, True, 1),
}
# Targets by name: (server, gateway measured or None, customer session, expected status).
PLAIN = {
    "upstream": ("upstream", None, 200),
    "nginx-proxy": ("nginx-proxy", None, 200),
    "bare-proxy": ("bare-proxy", None, 200),
    "gw-enabled": ("gw-on", "gw-on", 200),
    "gw-enabled-nolog": ("gw-on-nolog", "gw-on-nolog", 200),
    "gw2-enabled": ("gw2-on", "gw2-on", 200),
    "plugin-enabled": ("plugin-on", "fa-on", 200),
    "nginx-503": ("nginx-503", None, 503),
    "bare-503": ("bare-503", None, 503),
    "gw-disabled": ("gw-off", "gw-off", 503),
    "gw-disabled-nolog": ("gw-off-nolog", "gw-off-nolog", 503),
    "gw2-disabled": ("gw2-off", "gw2-off", 503),
    "plugin-disabled": ("plugin-off", "fa-off", 503),
}
COOKIE_RUNS = ("gw-enabled", "gw-disabled", "plugin-enabled", "plugin-disabled")
TARGET_NAMES = [*PLAIN, *(f"{n}-cookie" for n in COOKIE_RUNS)]
PATH = "/account"


def target(name: str) -> tuple[str, str | None, int, bool]:
    server, gw, status = PLAIN[name.removesuffix("-cookie")]
    return server, gw, status, name.endswith("-cookie")


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.procs = Processes(tmp)
        self.ports: dict[str, int] = {}
        self.gateways: dict[str, Any] = {}
        self.serving: dict[str, Any] = {}  # the other servers measured, by key
        self.store = CountingStore(self.all_gateway_pids)

    def all_gateway_pids(self) -> list[int]:
        # A copy: the store's thread asks while gateways are still being started.
        procs = list(self.gateways.values())
        return [p for proc in procs for p in [proc.pid, *gateway_pids(proc)]]

    def server(self, key: str) -> int:
        """The port of `key`, started (with what it needs) on first use."""
        if key in self.ports:
            return self.ports[key]
        if key == "upstream":
            port = free_port()
            self.serving[key] = self.procs.nginx(
                "upstream", UPSTREAM.format(port=port, page=PAGE, cookie=LOGIN_COOKIE)
            )
        elif key in ("nginx-proxy", "nginx-503"):
            up, proxy, closed = self.server("upstream"), free_port(), free_port()
            front = self.procs.nginx("front", FRONT.format(upstream=up, proxy=proxy, closed=closed))
            self.serving.update({"nginx-proxy": front, "nginx-503": front})
            self.ports.update({"nginx-proxy": proxy, "nginx-503": closed})
            wait_for(self.ports[key])
            return self.ports[key]
        elif key == "bare-proxy":
            port = free_port()
            self.serving[key] = self.procs.python(
                "bare-proxy", "proxy", str(port), str(self.server("upstream"))
            )
        elif key == "bare-503":
            port = free_port()
            self.serving[key] = self.procs.python("bare-503", "503", str(port))
        elif key == "stream-upstream":
            port = free_port()
            self.procs.python("stream-upstream", "stream", str(port))
        elif key in ("plugin-on", "plugin-off"):
            gw = "fa-" + key.removeprefix("plugin-")
            self.server(gw)
            port = free_port()
            conf = nginx_forward_auth(port, self.ports[gw + ":admin"], self.server("upstream"))
            self.procs.nginx(key, conf)
        else:
            return self.gateway(key)
        self.ports[key] = port
        wait_for(port)
        return port

    def gateway(self, key: str) -> int:
        upstream = self.server("stream-upstream" if key == "gw-stream" else "upstream")
        front, enabled, log, workers = GATEWAYS.get(key, ("proxy", True, True, 1))
        port, admin = free_port(), free_port()
        make = forward_auth_gateway if front == "forward-auth" else proxy_gateway
        data = make(port, admin, upstream, self.store.url(key, enabled))
        self.gateways[key] = self.procs.gateway(key, data, log=log, workers=workers)
        self.ports[key], self.ports[key + ":admin"] = port, admin
        if front == "proxy":
            # The bulk upstream has no /account: its 404 comes through once the gateway is open.
            wait_status(port, PATH, 404 if key == "gw-stream" else 200 if enabled else 503)
        else:
            wait_for(admin)
        if workers > 1 or front != "proxy":
            time.sleep(2.2)  # one ttl: each worker's first read is behind it
        return port

    def session(self) -> str:
        """A customer session and its stamp, from a login through the enabled gateway."""
        port = self.server("gw-on")
        login = get(port, "/login")
        stamp = [c.split(";", 1)[0] for c in login.headers.get_all("Set-Cookie") or []
                 if c.startswith("portal_gateway_stamp=")]  # fmt: skip
        if login.status != 200 or not stamp:
            raise SystemExit(f"the login through the gateway gave no stamp ({login.status})")
        cookie = f"{LOGIN_COOKIE}; {stamp[0]}"
        check = get(port, PATH, {"Cookie": cookie})
        if check.status != 200 or check.headers.get_all("Set-Cookie"):
            raise SystemExit("the gateway did not take its own stamp as valid")
        return cookie

    def run_once(self, name: str, cookie: str, duration: float) -> dict[str, float]:
        server, gw, status, with_cookie = target(name)
        port = self.server(server)
        # The CPU of the process answering: the gateway's workers, nginx's worker (not the
        # upstream's), the bare aiohttp process. nginx in front of plugin mode is not counted.
        measured = self.gateways[gw] if gw else self.serving.get(server)
        pids = gateway_pids(measured) if measured else []
        before = sum(cpu_seconds(p) for p in pids)
        reads = self.store.snapshot()
        headers = (f"Cookie: {cookie}",) if with_cookie else ()
        args = self.args
        url = f"http://127.0.0.1:{port}{PATH}"
        result = wrk(url, duration, args.connections, args.threads, headers)
        result["load"] = float(load_average().split()[0])
        result["unexpected"] = (
            result["non2xx"] if status == 200 else result["requests"] - result["non2xx"]
        )
        if pids:
            spent = sum(cpu_seconds(p) for p in pids) - before
            result["cpu_us_per_req"] = spent / max(result["requests"], 1) * 1e6
        if gw:
            result["rss_mib"] = max(rss_mib(p) for p in pids)
            read = self.store.snapshot() - reads  # only the gateway under load counts here
            self.load_reads.update({k: n for k, n in read.items() if k[0] == gw})
            self.load_seconds[gw] = self.load_seconds.get(gw, 0.0) + duration
        return result

    def measure(self, names: list[str]) -> dict[str, Any]:
        args = self.args
        self.store.start()
        self.load_reads: Counter[tuple[str, int | None]] = Counter()
        self.load_seconds: dict[str, float] = {}
        for name in names:
            self.server(target(name)[0])
        cookie = self.session() if any(n.endswith("-cookie") for n in names) else ""
        idle_from = self.store.snapshot()
        time.sleep(args.idle)  # everything started, nothing asked: the poller's own pace
        idle = self.store.snapshot() - idle_from
        if args.warmup:
            for name in names:
                self.run_once(name, cookie, args.warmup)  # pools, caches
        self.load_reads.clear()
        self.load_seconds.clear()
        rounds: dict[str, list[dict[str, float]]] = {n: [] for n in names}
        loads = [load_average()]
        for i in range(args.rounds):
            order = names[i % len(names) :] + names[: i % len(names)]
            for name in order:
                rounds[name].append(self.run_once(name, cookie, args.duration))
            loads.append(load_average())
        results = {n: summarize(r) for n, r in rounds.items()}
        report: dict[str, Any] = {"targets": results, "load_average": loads}
        report["store_reads"] = self.store_reads(idle)
        if not args.only or "stream" in args.only:
            self.server("gw-stream")
            report["stream"] = stream_through(
                self.ports["gw-stream"], self.gateways["gw-stream"].pid, args.stream_mib
            )
        return report

    def store_reads(self, idle: Counter[tuple[str, int | None]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, proc in self.gateways.items():
            if key == "gw-stream":
                continue
            per: dict[str, Any] = {}
            for pid in gateway_pids(proc):
                seconds = self.load_seconds.get(key)
                load = self.load_reads[(key, pid)] / seconds * 60 if seconds else None
                per[str(pid)] = {
                    "idle_reads": idle[(key, pid)],
                    "idle_seconds": self.args.idle,
                    "idle_per_min": idle[(key, pid)] / self.args.idle * 60,
                    "load_reads": self.load_reads[(key, pid)],
                    "load_seconds": seconds,
                    "load_per_min": load,
                }
            unknown = idle[(key, None)] + self.load_reads[(key, None)]
            out[key] = {"processes": per, "unattributed": unknown}
        return out
