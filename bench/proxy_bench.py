"""Throughput, latency and memory of portal-gateway against nginx on the same upstream.

    python bench/proxy_bench.py [--duration 10] [--connections 50]

Starts one upstream (aiohttp, 1 KiB answers), nginx (one worker, keep-alive pool) and the
gateway (one process) in front of it, drives each with wrk, and prints requests/s, latency
percentiles, the gateway's resident memory, and ratios against nginx. Also measures the
gateway answering customers itself while the portal is disabled. Numbers depend on the machine;
compare ratios, not absolutes. Nothing here is asserted: speed is measured, never tested.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

UPSTREAM = """
import sys
from aiohttp import web
BODY = b"x" * 1024
async def handle(request):
    return web.Response(body=BODY, content_type="text/plain")
app = web.Application()
app.router.add_route("*", "/{tail:.*}", handle)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""

NGINX = """
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  upstream portal {{ server 127.0.0.1:{upstream}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://portal;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }}
  }}
}}
"""

GATEWAY = """
listen: 127.0.0.1:{port}
admin_listen: 127.0.0.1:{admin}
upstreams:
  portal: http://127.0.0.1:{upstream}
settings:
  source: file://{tmp}/setting.json
  field: enabled
  ttl: 500ms
routes:
  - name: office
    paths: [/office]
    upstream: portal
    portal: office
  - name: customer
    paths: [/]
    upstream: portal
    portal: customer
customer_portal:
  session_key: {key}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listening on {port} after {timeout}s")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wrk(url: str, duration: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)", out, re.M)
        result[f"p{pct}_ms"] = float(m.group(1)) * units[m.group(2)] if m else float("nan")
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non2xx"] = float(non2xx.group(1)) if non2xx else 0.0
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if not nginx or not shutil.which("wrk"):
        raise SystemExit("bench needs Debian's nginx and wrk: apt-get install nginx-light wrk")
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            # Free ports for everything, the admin listener too: its default, 127.0.0.1:8082,
            # may be taken by a gateway already running here.
            up_port, ng_port, gw_port, admin_port = (free_port() for _ in range(4))
            procs.append(subprocess.Popen([sys.executable, "-c", UPSTREAM, str(up_port)]))
            Path(tmp, "nginx.conf").write_text(
                NGINX.format(tmp=tmp, upstream=up_port, port=ng_port)
            )
            procs.append(subprocess.Popen([nginx, "-c", f"{tmp}/nginx.conf", "-p", tmp]))
            setting = Path(tmp, "setting.json")
            setting.write_text(json.dumps({"enabled": True}))
            Path(tmp, "gw.yaml").write_text(
                GATEWAY.format(
                    port=gw_port,
                    admin=admin_port,
                    upstream=up_port,
                    tmp=tmp,
                    root=ROOT,
                    key="b" * 40,
                )
            )
            gateway = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gateway",
                    "--log-level",
                    "WARNING",
                    "run",
                    "--config",
                    f"{tmp}/gw.yaml",
                ],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            procs.append(gateway)
            for port in (up_port, ng_port, gw_port):
                wait_for(port)
            time.sleep(1.5)  # the gateway's first poll (cold start is fail-closed)
            rss_start = rss_mib(gateway.pid)
            rows = {}
            for name, url in (
                ("upstream direct", f"http://127.0.0.1:{up_port}/"),
                ("nginx", f"http://127.0.0.1:{ng_port}/"),
                ("portal-gateway", f"http://127.0.0.1:{gw_port}/"),
            ):
                wrk(url, 2, args.connections)  # warm-up: pools, caches
                rows[name] = wrk(url, args.duration, args.connections)
            rss_after = rss_mib(gateway.pid)
            setting.write_text(json.dumps({"enabled": False}))
            time.sleep(1.5)  # one TTL and a margin
            rows["portal-gateway, disabled (503)"] = wrk(
                f"http://127.0.0.1:{gw_port}/pay", args.duration, args.connections
            )
            rows["portal-gateway, office while disabled"] = wrk(
                f"http://127.0.0.1:{gw_port}/office/x", args.duration, args.connections
            )
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=30)
    base = rows["nginx"]["rps"]
    print(
        f"\nwrk -t2 -c{args.connections} -d{args.duration}s, 1 KiB answers, {os.cpu_count()} cores\n"
    )
    print(f"{'target':40} {'req/s':>10} {'vs nginx':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for name, r in rows.items():
        print(
            f"{name:40} {r['rps']:10.0f} {r['rps'] / base:9.2f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['non2xx']:8.0f}"
        )
    print(
        f"\nportal-gateway RSS: {rss_start:.1f} MiB at start, {rss_after:.1f} MiB after the proxied runs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
