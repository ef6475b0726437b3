"""The bench's table: medians per target, ratios against the targets, memory and store reads."""

from __future__ import annotations

import math
from typing import Any


def _num(value: Any, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        width = spec.split(".")[0]
        return format("-", f">{width}" if width else "")
    return format(value, spec)


def clean(value: Any) -> Any:
    """NaN and infinity as null, so the JSON is strict."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def print_report(report: dict[str, Any]) -> None:
    run = report["run"]
    print(f"\nwrk {run['wrk']}, loopback, {run['cpus']} CPUs, 1 KiB page; medians over rounds")
    print(f"load average (1, 5, 15 min) before and after each round: {report['load_average']}\n")
    head = ("target", "req/s", "p50 ms", "p99 ms", "CPU us/req", "RSS MiB", "unexpected")
    print(
        f"{head[0]:24} {head[1]:>9} {head[2]:>8} {head[3]:>8} {head[4]:>10} {head[5]:>8} {head[6]:>10}"
    )
    for name, r in report["targets"].items():
        print(
            f"{name:24} {_num(r.get('rps'), '9.0f')} {_num(r.get('p50_ms'), '8.2f')} "
            f"{_num(r.get('p99_ms'), '8.2f')} {_num(r.get('cpu_us_per_req'), '10.0f')} "
            f"{_num(r.get('rss_mib'), '8.1f')} {_num(r.get('unexpected'), '10.0f')}"
        )
    print("\n'unexpected': answers other than the target's (200 enabled, 503 disabled)")
    print("\ntargets (median of the per-round ratios)")
    for t in report["ratios"]:
        met = {True: "met", False: "NOT MET", None: "not run"}[t["met"]]
        print(f"  {t['label']:44} {_num(t['value'], '8.2f')}  {t['target']:>10}  {met}")
    print("\nwithout a target")
    for t in report["information"]:
        print(f"  {t['label']:44} {_num(t['value'], '8.2f')}")
    if "stream" in report:
        s = report["stream"]
        for way in ("up", "down"):
            w = s[way]
            print(
                f"\nstream {s['mib']} MiB {way}: {_num(w['mib_per_s'], '.0f')} MiB/s, RSS "
                f"growth {_num(w['rss_growth_mib'], '.1f')} MiB, complete: {w['complete']}",
                end="",
            )
        print()
    print("\nstore reads per minute, per process: idle / under load")
    for key, per in report["store_reads"].items():
        cells = [
            f"{_num(p['idle_per_min'], '.0f')}/{_num(p['load_per_min'], '.0f')}"
            for p in per["processes"].values()
        ]
        extra = f" ({per['unattributed']} unattributed)" if per["unattributed"] else ""
        print(f"  {key:14} {'  '.join(cells)}{extra}")
