"""What the access log costs on the disabled path: the gateway at INFO (JSON lines) vs off.

    python bench/access_log_bench.py [--duration 10] [--connections 50] [--rounds 3]

Starts one gateway at `--log-level WARNING` (no access log) and one at `--log-level INFO
--log-format json` (one JSON line per request, stderr to a file, as a log collector would
read it), both with the portal disabled, and drives `/pay` on each with wrk, alternating
rounds so that a busy machine weighs on both alike. Prints the median requests/s of each and
their ratio. Nothing is asserted: speed is measured, never tested.
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

from proxy_bench import GATEWAY, ROOT, free_port, wait_for, wrk


def start_gateway(
    tmp: str, name: str, level: str, log: Path
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    config = Path(tmp, f"{name}.yaml")
    # The upstream is never asked on the disabled path; port 9 answers nothing.
    config.write_text(GATEWAY.format(port=port, upstream=9, tmp=tmp, root=ROOT, key="b" * 40))
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "run", "--config", str(config),
             "--log-level", level, "--log-format", "json"],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=err,
        )  # fmt: skip
    return proc, port


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench needs wrk: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "setting.json").write_text(json.dumps({"enabled": False}))
        logs = {name: Path(tmp, f"{name}.log") for name in ("off", "info")}
        procs = {
            "off": start_gateway(tmp, "off", "WARNING", logs["off"]),
            "info": start_gateway(tmp, "info", "INFO", logs["info"]),
        }
        rps: dict[str, list[float]] = {"off": [], "info": []}
        try:
            for _, port in procs.values():
                wait_for(port)
            time.sleep(1.5)  # the first poll
            for _, port in procs.values():
                wrk(f"http://127.0.0.1:{port}/pay", 2, args.connections)  # warm-up
            for _ in range(args.rounds):
                for name, (_, port) in procs.items():
                    result = wrk(f"http://127.0.0.1:{port}/pay", args.duration, args.connections)
                    rps[name].append(result["rps"])
        finally:
            for proc, _ in procs.values():
                proc.terminate()
            for proc, _ in procs.values():
                proc.wait(timeout=30)
        lines = sum(1 for line in logs["info"].open("rb") if line.startswith(b"{"))
    off, info = statistics.median(rps["off"]), statistics.median(rps["info"])
    print(
        f"\nwrk -t2 -c{args.connections} -d{args.duration}s x {args.rounds} rounds, "
        f"disabled path (503), {os.cpu_count()} cores\n"
    )
    print(f"{'access log':24} {'req/s (median)':>15} {'rounds':>30}")
    for name, label in (("off", "off (WARNING)"), ("info", "INFO, json")):
        rounds = " ".join(f"{r:.0f}" for r in rps[name])
        print(f"{label:24} {statistics.median(rps[name]):15.0f} {rounds:>30}")
    print(
        f"\nINFO / off: {info / off:.2f} ({(1 - info / off) * 100:.1f} % slower); {lines} JSON lines"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
