"""/_gateway/decision: the gate as forward-auth, directly and behind Debian's nginx."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import ROOT, Gateway, StartGateway, StartUpstream
from tests.processes import free_port
from tests.services import require_binary

MESSAGE = "Our Customer Portal is currently unavailable. Please check back later."


async def ask(
    gw: Gateway, uri: str, method: str = "GET", query: str = "", **headers: str
) -> aiohttp.ClientResponse:
    async with gw.client.get(
        f"/_gateway/decision{query}",
        headers={"X-Original-URI": uri, "X-Original-Method": method, **headers},
    ) as resp:
        await resp.read()
        return resp


async def test_allow_and_deny_follow_the_gate(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    assert (await ask(gw, "/pay")).status == 204
    await gw.set_enabled(False)
    denied = await ask(gw, "/pay", "POST", Cookie="portal_session=abc")
    assert denied.status == 503
    assert denied.headers["Retry-After"] == "120"
    assert denied.headers.getall("Set-Cookie")[0].startswith("portal_session=; Max-Age=0")
    office = await ask(gw, "/office/families")
    assert (office.status, office.headers["X-Portal-Gateway-Route"]) == (204, "office")
    assert (await ask(gw, "/public/app.css")).status == 204
    # Headers of Traefik/Caddy (X-Forwarded-Uri/-Method) work the same.
    async with gw.client.get(
        "/_gateway/decision", headers={"X-Forwarded-Uri": "/enroll", "X-Forwarded-Method": "POST"}
    ) as resp:
        assert resp.status == 503
        assert MESSAGE in await resp.text()
    assert up.seen == []  # the decision never touches the upstream


async def test_ambiguous_targets_are_denied_not_allowed(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    for uri in ("/office/../pay", "//office", "/office%2F..%2Fpay"):
        assert (await ask(gw, uri)).status == 400, uri
    assert (await ask(gw, "/office/../pay", query="?deny_status=403")).status == 403


NGINX_CONF = """
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location / {{
      auth_request /_auth;
      error_page 403 = @unavailable;
      proxy_pass http://127.0.0.1:{upstream};
    }}
    location = /_auth {{
      internal;
      proxy_pass http://127.0.0.1:{gateway}/_gateway/decision?deny_status=403;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
    }}
    location @unavailable {{
      proxy_method GET;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
      rewrite ^ /_gateway/decision break;
      proxy_pass http://127.0.0.1:{gateway};
    }}
  }}
}}
"""


@pytest.fixture
async def nginx_in_front(tmp_path: Path) -> AsyncIterator[Callable[[int, int], Awaitable[int]]]:
    nginx = require_binary(shutil.which("nginx") or "/usr/sbin/nginx", "nginx-light")
    procs: list[asyncio.subprocess.Process] = []

    async def start(upstream_port: int, gateway_port: int) -> int:
        port = free_port()
        conf = tmp_path / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(tmp=tmp_path, port=port, upstream=upstream_port, gateway=gateway_port)
        )
        proc = await asyncio.create_subprocess_exec(
            nginx, "-c", str(conf), "-p", str(tmp_path), cwd=ROOT
        )
        procs.append(proc)
        for _ in range(100):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                return port
            except OSError:
                await asyncio.sleep(0.05)
        raise AssertionError("nginx is not listening")

    yield start
    for proc in procs:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()


@pytest.mark.nginx
async def test_nginx_auth_request_serves_the_unavailable_page(
    upstream: StartUpstream,
    gateway: StartGateway,
    nginx_in_front: Callable[[int, int], Awaitable[int]],
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    assert up.server.port is not None
    port = await nginx_in_front(up.server.port, gw.port)
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/pay") as resp:
            assert resp.status == 200
            assert await resp.text() == "upstream saw GET /pay"
        await gw.set_enabled(False)
        async with session.post(
            f"http://127.0.0.1:{port}/pay",
            data=b"amount=10",
            headers={"Cookie": "portal_session=x"},
        ) as resp:
            assert resp.status == 503
            assert MESSAGE in await resp.text()
            assert resp.headers.getall("Set-Cookie")[0].startswith("portal_session=; Max-Age=0")
        async with session.get(f"http://127.0.0.1:{port}/office/families") as resp:
            assert resp.status == 200
    assert [s.raw_path for s in up.seen] == ["/pay", "/office/families"]
