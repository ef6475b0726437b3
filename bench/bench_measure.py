"""wrk runs, their numbers, and the ratios the bench holds against its targets."""

from __future__ import annotations

import math
import re
import statistics
import subprocess
from dataclasses import dataclass
from typing import Any

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(
    url: str, duration: float, connections: int, threads: int, headers: tuple[str, ...] = ()
) -> dict[str, float]:
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--latency", url]
    for header in headers:
        argv += ["-H", header]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if not rps or not total:
        raise SystemExit(f"wrk said nothing usable about {url}:\n{out}")
    result = {"rps": float(rps.group(1)), "requests": float(total.group(1))}
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)\b", out, re.M)
        result[f"p{pct}_ms"] = float(m.group(1)) * UNITS[m.group(2)] if m else float("nan")
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non2xx"] = float(non2xx.group(1)) if non2xx else 0.0
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result["socket_errors"] = float(sum(int(g) for g in errors.groups())) if errors else 0.0
    return result


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarize(rounds: list[dict[str, float]]) -> dict[str, Any]:
    """The median of each number over the rounds, and the rounds themselves."""
    keys = sorted({k for r in rounds for k in r if k != "load"})
    summary: dict[str, Any] = {k: median([r[k] for r in rounds if k in r]) for k in keys}
    summary["rounds"] = rounds
    return summary


@dataclass(frozen=True)
class Target:
    """One ratio the issue sets: `name`'s `metric` over `base`'s, in the same round."""

    label: str
    name: str
    base: str
    op: str  # ">=" or "<="
    bound: float
    metric: str = "rps"


TARGETS = (
    Target("enabled vs bare aiohttp proxy", "gw-enabled", "bare-proxy", ">=", 0.80),
    Target("enabled vs nginx proxy", "gw-enabled", "nginx-proxy", ">=", 0.10),
    Target("disabled vs bare aiohttp 503", "gw-disabled", "bare-503", ">=", 0.70),
    Target("disabled vs nginx return 503", "gw-disabled", "nginx-503", ">=", 0.12),
    Target("enabled p99 vs bare proxy p99", "gw-enabled", "bare-proxy", "<=", 1.5, "p99_ms"),
    Target("plugin enabled vs nginx proxy", "plugin-enabled", "nginx-proxy", ">=", 0.30),
    Target("plugin disabled vs nginx proxy", "plugin-disabled", "nginx-proxy", ">=", 0.30),
    Target("workers 2 vs 1, disabled", "gw2-disabled", "gw-disabled", ">=", 1.3),
)


def C(label: str, name: str, base: str) -> Target:
    return Target(label, name, base, "<=", math.inf, "cpu_us_per_req")


# Ratios without a target, to read the costs apart.
INFORMATION = (
    Target("nginx proxy vs upstream direct", "nginx-proxy", "upstream", ">=", 0.0),
    Target("enabled, access log off vs on", "gw-enabled-nolog", "gw-enabled", ">=", 0.0),
    Target("disabled, access log off vs on", "gw-disabled-nolog", "gw-disabled", ">=", 0.0),
    Target("enabled with a session vs without", "gw-enabled-cookie", "gw-enabled", ">=", 0.0),
    Target("disabled with a session vs without", "gw-disabled-cookie", "gw-disabled", ">=", 0.0),
    Target("plugin enabled, session vs none", "plugin-enabled-cookie", "plugin-enabled", ">=", 0),
    Target(
        "plugin disabled, session vs none", "plugin-disabled-cookie", "plugin-disabled", ">=", 0
    ),
    Target("workers 2 vs 1, enabled", "gw2-enabled", "gw-enabled", ">=", 0.0),
    # CPU per request, which neighbours disturb less than req/s; for a process that saturates
    # its core, the throughput ratio is the inverse: 0.80x bare aiohttp is 1.25x its CPU.
    C("CPU/req: enabled vs bare aiohttp proxy", "gw-enabled", "bare-proxy"),
    C("CPU/req: disabled vs bare aiohttp 503", "gw-disabled", "bare-503"),
    C("CPU/req: enabled vs nginx proxy", "gw-enabled", "nginx-proxy"),
    C("CPU/req: disabled vs nginx return 503", "gw-disabled", "nginx-503"),
    C("CPU/req: enabled, access log on vs off", "gw-enabled", "gw-enabled-nolog"),
    C("CPU/req: disabled, access log on vs off", "gw-disabled", "gw-disabled-nolog"),
    C("CPU/req: plugin disabled vs enabled", "plugin-disabled", "plugin-enabled"),
)


def ratio(target: Target, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The median over rounds of the per-round ratio: both ran under the same neighbours."""
    entry: dict[str, Any] = {
        "label": target.label,
        "of": target.name,
        "over": target.base,
        "metric": target.metric,
        "target": f"{target.op} {target.bound}",
    }
    if target.name not in results or target.base not in results:
        return {**entry, "value": None, "met": None, "rounds": []}
    pairs = zip(results[target.name]["rounds"], results[target.base]["rounds"], strict=False)
    per_round = [a[target.metric] / b[target.metric] for a, b in pairs if b[target.metric]]
    value = median(per_round)
    met = value >= target.bound if target.op == ">=" else value <= target.bound
    return {**entry, "value": value, "met": bool(met), "rounds": per_round}


def store_verdict(reads: dict[str, Any]) -> dict[str, Any]:
    """Every gateway process reads the store at its poller's pace, whatever the clients do:
    the reads under load, less one (a window cuts a poll interval at each end), are at most
    1.5x what the idle rate predicts for as long. The value is the worst process's ratio."""
    worst = 0.0
    for per in reads.values():
        for proc in per["processes"].values():
            if not proc["load_seconds"] or not proc["idle_reads"]:
                continue
            expected = proc["idle_reads"] / proc["idle_seconds"] * proc["load_seconds"]
            worst = max(worst, max(proc["load_reads"] - 1, 0) / expected)
    return {
        "label": "store reads per process: load vs idle",
        "value": worst,
        "target": "<= 1.5",
        "met": bool(reads) and worst <= 1.5,
    }
