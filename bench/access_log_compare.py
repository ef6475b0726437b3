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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from access_log_bench import cpu_seconds
from proxy_bench import GATEWAY, ROOT, free_port, wait_for, wrk


def start(tmp: str, root: str, name: str, level: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    config = Path(tmp, f"{name}.yaml")
    # The upstream is never asked on the disabled path; port 9 answers nothing.
    config.write_text(
        GATEWAY.format(port=port, admin=free_port(), upstream=9, tmp=tmp, root=root, key="b" * 40)
    )
    with Path(tmp, f"{name}.log").open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "run", "--config", str(config),
             "--log-level", level, "--log-format", "json"],
            cwd=root, env={**os.environ, "PYTHONPATH": root}, stderr=err,
        )  # fmt: skip
    return proc, port


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("other", help="another checkout of the gateway (the 'before')")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--duration", type=int, default=4)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench needs wrk: apt-get install wrk")
    roots = {"other": str(Path(args.other).resolve()), "this": str(ROOT)}
    names = [f"{r}/{lvl}" for r in roots for lvl in ("off", "info")]
    cpu: dict[str, list[float]] = {n: [] for n in names}
    rps: dict[str, list[float]] = {n: [] for n in names}
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "setting.json").write_text(json.dumps({"enabled": False}))
        procs = {
            n: start(tmp, roots[n.split("/")[0]], n.replace("/", "-"),
                     "WARNING" if n.endswith("off") else "INFO")
            for n in names
        }  # fmt: skip
        try:
            for _, port in procs.values():
                wait_for(port)
            time.sleep(1.5)  # the first poll
            for _, port in procs.values():
                wrk(f"http://127.0.0.1:{port}/pay", 2, args.connections)  # warm-up
            for i in range(args.rounds):
                for name in names if i % 2 == 0 else names[::-1]:
                    proc, port = procs[name]
                    before = cpu_seconds(proc.pid)
                    result = wrk(f"http://127.0.0.1:{port}/pay", args.duration, args.connections)
                    spent = cpu_seconds(proc.pid) - before
                    rps[name].append(result["rps"])
                    cpu[name].append(spent / (result["rps"] * args.duration) * 1e6)
        finally:
            for proc, _ in procs.values():
                proc.terminate()
            for proc, _ in procs.values():
                proc.wait(timeout=30)
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
