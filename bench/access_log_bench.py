"""What the access log costs on the disabled path: the gateway at INFO (JSON lines) vs off.

    python bench/access_log_bench.py [--duration 10] [--connections 50] [--rounds 3]

Starts one gateway at `--log-level WARNING` (no access log) and one at `--log-level INFO
--log-format json` (one JSON line per request, stderr to a file, as a log collector would
read it), both with the portal disabled, and drives `/pay` on each with wrk, alternating
rounds so that a busy machine weighs on both alike. Prints the median requests/s of each, and
the CPU time each gateway process (its writer thread included) spent per request, read from
/proc: on a machine shared with other work, requests/s swing with the neighbours' load, while
CPU per request does not, and for a one-process gateway that saturates a core the throughput
ratio is the inverse of the CPU ratio. Nothing is asserted: speed is measured, never tested.
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

import yaml
from bench_measure import wrk
from bench_servers import ROOT, free_port, proxy_gateway, wait_for


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process, every thread included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


Proc = tuple[subprocess.Popen[bytes], int]


def start_gateway(tmp: str, name: str, level: str, log: Path, root: Path = ROOT) -> Proc:
    """A gateway from checkout `root` on the disabled path, at `level`, stderr to `log`."""
    port = free_port()
    config = Path(tmp, f"{name}.yaml")
    # The upstream is never asked on the disabled path; port 9 answers nothing.
    data = proxy_gateway(port, free_port(), 9, f"file://{tmp}/setting.json")
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "run", "--config", str(config),
             "--log-level", level, "--log-format", "json"],
            cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, stderr=err,
        )  # fmt: skip
    return proc, port


def measure(
    procs: dict[str, Proc], duration: int, connections: int, rounds: int, *, alternate: bool
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Requests/s and CPU us per request of each gateway, round by round (`/pay`, wrk -t2);
    `alternate` reverses the order every other round. Stops every gateway at the end."""
    names = list(procs)
    rps: dict[str, list[float]] = {n: [] for n in names}
    cpu_us: dict[str, list[float]] = {n: [] for n in names}
    try:
        for _, port in procs.values():
            wait_for(port)
        time.sleep(1.5)  # the first poll
        for _, port in procs.values():
            wrk(f"http://127.0.0.1:{port}/pay", 2, connections, 2)  # warm-up
        for i in range(rounds):
            for name in names[::-1] if alternate and i % 2 else names:
                proc, port = procs[name]
                before = cpu_seconds(proc.pid)
                result = wrk(f"http://127.0.0.1:{port}/pay", duration, connections, 2)
                spent = cpu_seconds(proc.pid) - before
                rps[name].append(result["rps"])
                cpu_us[name].append(spent / (result["rps"] * duration) * 1e6)
    finally:
        for proc, _ in procs.values():
            proc.terminate()
        for proc, _ in procs.values():
            proc.wait(timeout=30)
    return rps, cpu_us


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
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
        rps, cpu_us = measure(procs, args.duration, args.connections, args.rounds, alternate=False)
        lines = sum(1 for line in logs["info"].open("rb") if line.startswith(b"{"))
    off, info = statistics.median(rps["off"]), statistics.median(rps["info"])
    # The least CPU a request took over the rounds: the round least disturbed by neighbours.
    cpu_off, cpu_info = min(cpu_us["off"]), min(cpu_us["info"])
    print(
        f"\nwrk -t2 -c{args.connections} -d{args.duration}s x {args.rounds} rounds, "
        f"disabled path (503), {os.cpu_count()} cores\n"
    )
    print(f"{'access log':16} {'req/s':>8} {'CPU us/req':>11}   rounds (req/s; CPU us/req)")
    print(f"{'':16} {'median':>8} {'least':>11}")
    for name, label in (("off", "off (WARNING)"), ("info", "INFO, json")):
        rounds = " ".join(f"{r:.0f}" for r in rps[name])
        cpus = " ".join(f"{c:.0f}" for c in cpu_us[name])
        print(
            f"{label:16} {statistics.median(rps[name]):8.0f} "
            f"{min(cpu_us[name]):11.1f}   {rounds}; {cpus}"
        )
    print(
        f"\nreq/s INFO / off: {info / off:.2f}; CPU per request INFO / off: "
        f"{cpu_info / cpu_off:.2f} (throughput cost {(1 - cpu_off / cpu_info) * 100:.1f} %); "
        f"{lines} JSON lines written"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
