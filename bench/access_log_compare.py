"""The access log's cost before and after a change: two checkouts, each off and at INFO.

    python bench/access_log_compare.py OTHER_CHECKOUT [--rounds 10] [--duration 4]

Starts four gateways on the disabled path (this checkout and OTHER_CHECKOUT, e.g. an older
commit unpacked with `git archive COMMIT | tar -x -C DIR`, each at `--log-level WARNING` and
at INFO with JSON lines to a file) and drives them with wrk in rounds, the order reversed every
other round, so that neighbours' load on a shared machine weighs on all four alike. Prints per
gateway the median requests/s and CPU per request (every thread, read from /proc), and per
checkout the INFO/off ratios, overall and round by round: on a busy machine CPU per request is
the steadier measure. Nothing is asserted: speed is measured, never tested.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from access_log_bench import measure, start_gateway
from bench_servers import ROOT


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("other", help="another checkout of the gateway (the 'before')")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--duration", type=int, default=4)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench needs wrk: apt-get install wrk")
    roots = {"other": Path(args.other).resolve(), "this": ROOT}
    names = [f"{r}/{lvl}" for r in roots for lvl in ("off", "info")]
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "setting.json").write_text(json.dumps({"enabled": False}))
        procs = {}
        for n in names:
            root, level = n.split("/")
            log = Path(tmp, f"{root}-{level}.log")
            level = "WARNING" if level == "off" else "INFO"
            procs[n] = start_gateway(tmp, n.replace("/", "-"), level, log, roots[root])
        rps, cpu = measure(procs, args.duration, args.connections, args.rounds, alternate=True)
    print(
        f"\n{args.rounds} rounds of {args.duration}s, wrk -t2 -c{args.connections}, disabled "
        f"path (503), {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at the end\n"
    )
    for name in names:
        print(
            f"{name:11} req/s {statistics.median(rps[name]):6.0f}  "
            f"CPU us/req {statistics.median(cpu[name]):6.1f} (least {min(cpu[name]):.1f})"
        )
    for root in roots:
        off, info = cpu[f"{root}/off"], cpu[f"{root}/info"]
        per_round = [i / o for i, o in zip(info, off, strict=True)]
        speed = statistics.median(rps[f"{root}/info"]) / statistics.median(rps[f"{root}/off"])
        print(
            f"{root}: CPU per request INFO/off {statistics.median(info) / statistics.median(off):.3f}"
            f" (round by round, median {statistics.median(per_round):.3f}); "
            f"req/s INFO/off {speed:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
