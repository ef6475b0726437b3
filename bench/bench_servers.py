"""The processes `make bench` measures: nginx (upstream, proxy, return 503, auth_request), the
bare aiohttp references and portal-gateway, each on a free port chosen at run time."""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
# The checkout the gateway runs from: another one's (BENCH_GATEWAY_ROOT=DIR) to compare a change.
GATEWAY_ROOT = Path(os.environ.get("BENCH_GATEWAY_ROOT") or ROOT).resolve()
SESSION_KEY = "b" * 40
PAGE = "x" * 1024  # the upstream's 1 KiB page
LOGIN_COOKIE = "portal_session=bench-session-1"

NGINX_MAIN = """daemon off;
master_process on;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
{body}
}}
"""

UPSTREAM = """
  server {{
    listen 127.0.0.1:{port};
    default_type text/html;
    location / {{ return 200 "{page}"; }}
    # A login: the answer sets the customer session, which the gateway stamps.
    location = /login {{
      add_header Set-Cookie "{cookie}; Path=/; HttpOnly";
      return 200 "{page}";
    }}
  }}
"""

FRONT = """
  upstream portal {{ server 127.0.0.1:{upstream}; keepalive 64; keepalive_requests 1000000; }}
  server {{
    listen 127.0.0.1:{proxy};
    location / {{
      proxy_pass http://portal;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }}
  }}
  server {{
    listen 127.0.0.1:{closed};
    default_type text/html;
    location / {{
      add_header Retry-After 120 always;
      return 503 "<!doctype html><title>Unavailable</title><p>The customer portal is closed.</p>";
    }}
  }}
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


def get(port: int, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers=headers or {})
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp


def wait_status(port: int, path: str, status: int, timeout: float = 60.0) -> None:
    """Until `path` answers `status`: the gateway is fail-closed until its first store read."""
    deadline = time.monotonic() + timeout
    seen: object = None
    while time.monotonic() < deadline:
        try:
            seen = get(port, path).status
            if seen == status:
                return
        except (OSError, http.client.HTTPException) as exc:
            seen = exc
        time.sleep(0.1)
    raise SystemExit(f"127.0.0.1:{port}{path} answered {seen}, not {status}, after {timeout}s")


def nginx_binary() -> str | None:
    found = shutil.which("nginx")
    return found or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


@dataclass
class Processes:
    """Everything the bench started, stopped together at the end."""

    tmp: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, name: str, argv: list[str], **kw: Any) -> subprocess.Popen[bytes]:
        with (self.tmp / f"{name}.log").open("wb") as err:
            proc = subprocess.Popen(argv, stderr=err, stdout=subprocess.DEVNULL, **kw)
        self.procs.append(proc)
        return proc

    def nginx(self, name: str, body: str) -> subprocess.Popen[bytes]:
        home = self.tmp / name
        home.mkdir()
        (home / "nginx.conf").write_text(NGINX_MAIN.format(tmp=home, body=body))
        binary = nginx_binary() or "nginx"
        return self.start(name, [binary, "-c", f"{home}/nginx.conf", "-p", str(home), "-e",
                                 f"{home}/error.log"])  # fmt: skip

    def python(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        return self.start(name, [sys.executable, str(BENCH / "bare_aiohttp.py"), *args])

    def gateway(
        self, name: str, data: dict[str, Any], *, log: bool, workers: int = 1
    ) -> subprocess.Popen[bytes]:
        config = self.tmp / f"{name}.yaml"
        config.write_text(yaml.safe_dump(data, sort_keys=False))
        level = (
            ["--log-level", "INFO", "--log-format", "json"] if log else ["--log-level", "WARNING"]
        )
        argv = [sys.executable, "-m", "gateway", "run", "--config", str(config), *level]
        if workers > 1:
            argv += ["--workers", str(workers)]
        env = {**os.environ, "PYTHONPATH": str(GATEWAY_ROOT)}
        return self.start(name, argv, cwd=GATEWAY_ROOT, env=env)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def proxy_gateway(port: int, admin: int, upstream: int, store: str) -> dict[str, Any]:
    """The gateway in front of the portal, one customer and one office route."""
    return {
        "listen": f"127.0.0.1:{port}",
        "admin_listen": f"127.0.0.1:{admin}",
        "upstreams": {"portal": f"http://127.0.0.1:{upstream}"},
        "settings": {"source": store, "field": "enabled", "ttl": 2},
        "proxy": {"client_max_size": "2g"},  # the 1 GiB upload
        "routes": [
            {"name": "office", "paths": ["/office"], "upstream": "portal", "portal": "office"},
            {"name": "customer", "paths": ["/"], "upstream": "portal", "portal": "customer"},
        ],
        "customer_portal": {"session_key": SESSION_KEY},
    }


def forward_auth_gateway(port: int, admin: int, upstream: int, store: str) -> dict[str, Any]:
    """config/forward-auth.yaml with its addresses and store replaced, as a deployment does."""
    data: dict[str, Any] = yaml.safe_load(
        (GATEWAY_ROOT / "config" / "forward-auth.yaml").read_text()
    )
    data["listen"] = f"127.0.0.1:{port}"
    data["admin_listen"] = f"127.0.0.1:{admin}"
    data["upstreams"] = {"portal": f"http://127.0.0.1:{upstream}"}
    data["settings"] = {"source": store, "field": "enabled", "ttl": 2}
    data["customer_portal"]["session_key"] = SESSION_KEY
    return data


def nginx_forward_auth(client: int, admin: int, upstream: int) -> str:
    """config/nginx-forward-auth.conf, shipped as is but for its three addresses."""
    text = (GATEWAY_ROOT / "config" / "nginx-forward-auth.conf").read_text()
    for address, port in (("127.0.0.1:8000", client), ("127.0.0.1:8082", admin),
                          ("127.0.0.1:8081", upstream)):  # fmt: skip
        if address not in text:
            raise SystemExit(f"config/nginx-forward-auth.conf no longer names {address}")
        text = text.replace(address, f"127.0.0.1:{port}")
    return text


def gateway_pids(proc: subprocess.Popen[bytes]) -> list[int]:
    """The processes serving requests: the workers under a supervisor, else the process."""
    try:
        tasks = Path(f"/proc/{proc.pid}/task").iterdir()
        children = [int(c) for t in tasks for c in (t / "children").read_text().split()]
    except OSError:
        return []
    return children or [proc.pid]


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process, every thread included."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])
