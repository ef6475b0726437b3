"""What aiohttp itself costs: the references the gateway is measured against, and a byte pump.

    python bench/bare_aiohttp.py proxy PORT UPSTREAM_PORT   a streaming proxy, no features
    python bench/bare_aiohttp.py 503 PORT                   a fixed 503 page
    python bench/bare_aiohttp.py stream PORT                PUT /upload reads and drops the
                                                            body; GET /download?bytes=N sends N

Each runs on uvloop with `access_log=None`; the proxy's pool has the gateway's default limits
(proxy.pool_size 1000, proxy.keepalive_timeout 60 s, no cookie jar, no decompression), so the
difference between it and the gateway is the gateway's own work.
"""

from __future__ import annotations

import sys

import aiohttp
import uvloop
from aiohttp import web
from multidict import CIMultiDict

HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "te", "trailer", "host"}
PAGE = b"<!doctype html><title>Unavailable</title><p>The customer portal is closed.</p>\n"
CHUNK = 64 * 1024


def proxy_app(upstream: str) -> web.Application:
    app = web.Application()
    client: dict[str, aiohttp.ClientSession] = {}

    async def start(_: web.Application) -> None:
        client["s"] = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=1000, keepalive_timeout=60.0),
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        )

    async def stop(_: web.Application) -> None:
        await client["s"].close()

    async def handle(request: web.Request) -> web.StreamResponse:
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in HOP)
        body = request.content if request.body_exists else None
        async with client["s"].request(
            request.method, upstream + request.path_qs, headers=headers, data=body
        ) as up:
            answer = web.StreamResponse(status=up.status)
            for k, v in up.headers.items():
                if k.lower() not in HOP and k.lower() != "content-length":
                    answer.headers.add(k, v)
            if up.content_length is not None:
                answer.content_length = up.content_length
            await answer.prepare(request)
            async for chunk in up.content.iter_chunked(CHUNK):
                await answer.write(chunk)
            await answer.write_eof()
            return answer

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


def fixed_503_app() -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        return web.Response(
            status=503, body=PAGE, content_type="text/html", headers={"Retry-After": "120"}
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


def stream_app() -> web.Application:
    async def upload(request: web.Request) -> web.Response:
        total = 0
        async for chunk in request.content.iter_chunked(CHUNK):
            total += len(chunk)
        return web.Response(text=f"{total}\n")

    async def download(request: web.Request) -> web.StreamResponse:
        left = int(request.query.get("bytes", "0"))
        answer = web.StreamResponse()
        answer.content_length = left
        answer.content_type = "application/octet-stream"
        await answer.prepare(request)
        block = b"\0" * CHUNK
        while left > 0:
            await answer.write(block[: min(left, CHUNK)])
            left -= CHUNK
        await answer.write_eof()
        return answer

    app = web.Application(client_max_size=1 << 40)
    app.router.add_put("/upload", upload)
    app.router.add_get("/download", download)
    return app


def main(argv: list[str]) -> None:
    mode, port = argv[0], int(argv[1])
    if mode == "proxy":
        app = proxy_app(f"http://127.0.0.1:{int(argv[2])}")
    elif mode == "503":
        app = fixed_503_app()
    else:
        app = stream_app()
    uvloop.install()
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    main(sys.argv[1:])
