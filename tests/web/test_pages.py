"""A policy Page as an aiohttp response: every header kept in order, a close honoured."""

from __future__ import annotations

from aiohttp import web
from pytest_aiohttp import AiohttpClient

from gateway.policy.pages import Page
from gateway.web.pages import page_response
from tests.conftest import raw_exchange


async def test_a_page_becomes_a_response_with_every_header_and_the_close(
    aiohttp_client: AiohttpClient,
) -> None:
    page = Page(
        418,
        "text/plain",
        "short and stout",
        (("Set-Cookie", "a=; Max-Age=0"), ("Set-Cookie", "b=; Max-Age=0"), ("Retry-After", "5")),
        close=True,
    )

    async def handler(request: web.Request) -> web.StreamResponse:
        return page_response(page)

    app = web.Application()
    app.router.add_get("/", handler)
    client = await aiohttp_client(app)
    async with client.get("/") as resp:
        assert (resp.status, await resp.text()) == (418, "short and stout")
        assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert resp.headers.getall("Set-Cookie") == ["a=; Max-Age=0", "b=; Max-Age=0"]
        assert resp.headers["Retry-After"] == "5"
        assert resp.headers["Connection"] == "close"


def _per_request_response(page: Page) -> web.Response:
    """The response as it was built header by header: the reference for the bytes."""
    response = web.Response(status=page.status, text=page.text, content_type=page.content_type)
    for name, value in page.headers:
        response.headers.add(name, value)
    if page.close:
        response.force_close()
    return response


async def test_the_response_bytes_equal_the_header_by_header_build() -> None:
    pages = [
        Page(503, "text/html", "<p>Indisponible, retour à 9 h</p>",
             (("Retry-After", "120"), ("Cache-Control", "no-store"),
              ("Content-Language", "fr"), ("Set-Cookie", "a=; Max-Age=0"))),
        Page(503, "application/json", '{"error": "x"}', (("Retry-After", "1"),), close=True),
        Page(404, "text/html", "<p>none</p>", (("X-Request-ID", "r1"),)),
    ]  # fmt: skip

    async def handler(request: web.Request) -> web.StreamResponse:
        page = pages[int(request.query["i"])]
        return (page_response if request.path == "/new" else _per_request_response)(page)

    app = web.Application()
    app.router.add_get("/new", handler)
    app.router.add_get("/ref", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]

    async def wire(path: str) -> bytes:
        head = f"GET {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".encode()
        raw = await raw_exchange(port, head)
        return b"\r\n".join(line for line in raw.split(b"\r\n") if not line.startswith(b"Date:"))

    try:
        for i in range(len(pages)):
            new, ref = await wire(f"/new?i={i}"), await wire(f"/ref?i={i}")
            assert new == ref and new.startswith(b"HTTP/1.1 ")
    finally:
        await runner.cleanup()
