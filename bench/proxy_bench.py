"""What portal-gateway costs against nginx and against bare aiohttp, in one run (`make bench`).

    python bench/proxy_bench.py [--duration 10] [--rounds 3] [--connections 64] [--threads 1]
                                [--only NAME,...] [--json FILE] [--stream-mib 1024] [--idle 10]

Starts, each on a free port: nginx answering a 1 KiB page (the upstream, and the limit); nginx
proxying to it (one worker, a keep-alive pool) and answering `return 503`; a bare aiohttp
proxy and a bare aiohttp 503 (bench/bare_aiohttp.py: what aiohttp itself costs); the gateway
enabled and disabled, access log on (JSON, INFO) and off, one worker and `--workers 2`; and
plugin mode, nginx `auth_request` (config/nginx-forward-auth.conf as shipped) asking one
gateway worker's `/_gateway/decision`, enabled and disabled. Every target is driven by wrk in
interleaved rounds (each round runs every target once, in a rotated order), with no cookies,
and again for the gateway targets with a customer session and the gateway's stamp for it (from
a login through the gateway). Then 1 GiB up and 1 GiB down through the gateway, sampling its
RSS, while an HTTP store in the bench counts each gateway process's reads, idle and under load.

Prints a table (medians over the rounds), the ratios against the issue's targets (the median
of the per-round ratios, met or not) and writes everything to JSON. Numbers depend on the
machine and its neighbours: compare ratios within one run. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_measure import INFORMATION, TARGETS, ratio, store_verdict
from bench_report import clean, print_report
from bench_run import TARGET_NAMES, Bench
from bench_servers import ROOT, nginx_binary


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--duration", type=float, default=10, help="seconds per wrk run (default 10)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--connections", type=int, default=64, help="wrk -c (default 64)")
    parser.add_argument("--threads", type=int, default=1, help="wrk -t (default 1)")
    parser.add_argument(
        "--warmup",
        type=float,
        default=2,
        help="seconds of wrk per target before the rounds (default 2; 0: none)",
    )
    parser.add_argument(
        "--idle", type=float, default=10, help="seconds of idle store reads counted (default 10)"
    )
    parser.add_argument(
        "--stream-mib", type=int, default=1024, help="MiB streamed each way (default 1024)"
    )
    parser.add_argument(
        "--only",
        type=lambda s: [n for n in s.split(",") if n],
        default=[],
        help=f"targets to run, comma-separated: {', '.join(TARGET_NAMES)}, stream",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        help="where to write the results (default: bench/results/proxy-bench-TIME.json)",
    )
    args = parser.parse_args(argv)
    unknown = [n for n in args.only if n not in TARGET_NAMES and n != "stream"]
    if unknown:
        parser.error(
            f"--only: unknown {', '.join(unknown)}; known: {', '.join(TARGET_NAMES)}, stream"
        )
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not nginx_binary() or not shutil.which("wrk"):
        raise SystemExit("bench needs Debian's nginx and wrk: apt-get install nginx-light wrk")
    names = [n for n in TARGET_NAMES if not args.only or n in args.only]
    out = args.json or ROOT / "bench" / "results" / time.strftime("proxy-bench-%Y%m%d-%H%M%S.json")
    tmp = Path(tempfile.mkdtemp(prefix="proxy-bench-"))
    bench = Bench(args, tmp)
    try:
        report = bench.measure(names)
    except BaseException:
        print(f"bench failed; its processes' logs are kept in {tmp}", file=sys.stderr)
        raise
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    finally:
        bench.procs.stop()
        bench.store.stop()
    report["ratios"] = [ratio(t, report["targets"]) for t in TARGETS]
    report["information"] = [ratio(t, report["targets"]) for t in INFORMATION]
    report["ratios"].append(store_verdict(report["store_reads"]))
    if "stream" in report:
        report["ratios"] += report["stream"]["verdicts"]
    report["run"] = {
        "argv": sys.argv[1:] if argv is None else argv,
        "cpus": os.cpu_count(),
        "wrk": f"-t{args.threads} -c{args.connections} -d{args.duration:g}s x {args.rounds} rounds",
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    report = clean(report)
    out.write_text(json.dumps(report, indent=2, allow_nan=False))
    print_report(report)
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
