"""The http(s):// source against a real aiohttp server: status codes, bodies and fields."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from gateway.config import SettingsConfig
from gateway.settings import Reading, SettingsUnavailable, make_source
from gateway.settings.http import MAX_BODY


async def serve(aiohttp_server: AiohttpServer, handler: Any) -> str:
    app = web.Application()
    app.router.add_get("/s", handler)
    server = await aiohttp_server(app)
    return f"http://127.0.0.1:{server.port}/s"


async def read(url: str, **options: Any) -> Reading:
    source = make_source(SettingsConfig(source=url, options={"field": "enabled", **options}))
    try:
        return await source.read()
    finally:
        await source.aclose()


@pytest.mark.parametrize(
    ("status", "body", "content_type", "message"),
    [
        (200, "<html>502 Bad Gateway</html>", "text/html", r": the answer is not JSON$"),
        (503, '{"enabled": true}', "application/json", r": HTTP 503$"),
        (404, '{"enabled": true}', "application/json", r": HTTP 404$"),
        (302, '{"enabled": true}', "application/json", r": HTTP 302$"),  # never followed
        (204, "", "application/json", r": the answer is not JSON$"),
        (200, "", "application/json", r": the answer is not JSON$"),
        (200, '{"other": true}', "application/json", r": field 'enabled' not found$"),
        (200, "[true]", "application/json", r": field 'enabled' not found$"),
        (200, '{"enabled": "maybe"}', "application/json", r": enabled: expected .*, got 'maybe'$"),
    ],
)
async def test_anything_but_a_2xx_json_value_is_a_read_error(
    aiohttp_server: AiohttpServer, status: int, body: str, content_type: str, message: str
) -> None:
    async def handle(request: web.Request) -> web.Response:
        headers = {"Location": "/elsewhere"} if status == 302 else None
        return web.Response(
            status=status, text=body or None, content_type=content_type, headers=headers
        )

    url = await serve(aiohttp_server, handle)
    with pytest.raises(SettingsUnavailable, match=rf"^http://127\.0\.0\.1:\d+/s{message}"):
        await read(url)


async def test_any_2xx_with_json_is_a_value_and_the_field_is_dotted(
    aiohttp_server: AiohttpServer,
) -> None:
    async def handle(request: web.Request) -> web.Response:
        document = {"data": {"portal": [{"enabled": "Off", "at": "2023-11-14T22:13:20Z"}]}}
        return web.json_response(document, status=201)

    url = await serve(aiohttp_server, handle)
    reading = await read(url, field="data.portal.0.enabled", changed_at_field="data.portal.0.at")
    assert reading == Reading(False, 1_700_000_000.0)


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        (1_700_000_000, 1_700_000_000.0),
        (1_700_000_000.5, 1_700_000_000.5),
        ("2023-11-14T22:13:20+00:00", 1_700_000_000.0),
        ("2023-11-14T23:13:20+01:00", 1_700_000_000.0),
        ("2023-11-14T22:13:20", 1_700_000_000.0),  # naive = UTC
    ],
)
async def test_change_time_as_epoch_or_iso_8601(
    aiohttp_server: AiohttpServer, stamp: object, expected: float
) -> None:
    async def handle(request: web.Request) -> web.Response:
        return web.json_response({"enabled": True, "changed_at": stamp})

    url = await serve(aiohttp_server, handle)
    assert await read(url, changed_at_field="changed_at") == Reading(True, expected)


@pytest.mark.parametrize("stamp", ["yesterday", None, True, [1]])
async def test_a_bad_change_time_is_a_read_error(
    aiohttp_server: AiohttpServer, stamp: object
) -> None:
    async def handle(request: web.Request) -> web.Response:
        return web.json_response({"enabled": True, "changed_at": stamp})

    url = await serve(aiohttp_server, handle)
    with pytest.raises(SettingsUnavailable, match="is not a timestamp"):
        await read(url, changed_at_field="changed_at")


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ('{"enabled": false, "changed_at": NaN}', "nan is not a finite number"),
        ('{"enabled": false, "changed_at": Infinity}', "inf is not a finite number"),
        ('{"enabled": false, "changed_at": 1e999}', "inf is not a finite number"),
        ('{"enabled": false, "changed_at": -1}', "-1 is before 1970"),
        ('{"enabled": false, "changed_at": "9999-12-31T00:00:00Z"}', "more than a day ahead"),
    ],
)
async def test_a_change_time_that_cannot_date_a_disable_is_a_read_error(
    aiohttp_server: AiohttpServer, body: str, why: str
) -> None:
    # Python's json module reads NaN and Infinity, as some stores' serialisers write them.
    async def handle(request: web.Request) -> web.Response:
        return web.Response(text=body, content_type="application/json")

    url = await serve(aiohttp_server, handle)
    with pytest.raises(SettingsUnavailable, match=rf"^{url}: change time .*{why}"):
        await read(url, changed_at_field="changed_at")


async def test_an_oversized_answer_is_refused(aiohttp_server: AiohttpServer) -> None:
    async def handle(request: web.Request) -> web.StreamResponse:
        # Chunked, so no Content-Length warns the client in advance.
        response = web.StreamResponse()
        response.content_type = "application/json"
        await response.prepare(request)
        await response.write(b'{"enabled": true, "pad": "')
        for _ in range(MAX_BODY // 65536 + 2):
            await response.write(b"x" * 65536)
        await response.write(b'"}')
        return response

    url = await serve(aiohttp_server, handle)
    with pytest.raises(SettingsUnavailable, match="answer larger than"):
        await read(url)


async def test_one_session_for_every_read_and_no_cookies_kept(
    aiohttp_server: AiohttpServer,
) -> None:
    seen: list[str | None] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Cookie"))
        response = web.json_response({"enabled": True})
        response.set_cookie("tracker", "1")
        return response

    url = await serve(aiohttp_server, handle)
    source = make_source(SettingsConfig(source=url, options={"field": "enabled"}))
    try:
        for _ in range(3):
            assert (await source.read()).enabled
    finally:
        await source.aclose()
    assert seen == [None, None, None]


async def test_the_password_is_masked_in_the_description_and_errors() -> None:
    source = make_source(
        SettingsConfig(
            source="http://ops:s3cret@127.0.0.1:1/s", options={"field": "enabled"}, timeout=1.0
        )
    )
    try:
        assert source.description == "http://ops:***@127.0.0.1:1/s"
        with pytest.raises(SettingsUnavailable) as info:
            await source.read()
    finally:
        await source.aclose()
    assert str(info.value).startswith("http://ops:***@127.0.0.1:1/s: ")
    assert "s3cret" not in json.dumps(str(info.value))


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"enabled": False, "note": {"text": " Back at noon "}}, "Back at noon"),
        ({"enabled": False}, None),  # missing: no note
        ({"enabled": False, "note": {"text": None}}, None),
        ({"enabled": False, "note": {"text": ""}}, None),
        # SECURITY: not text is no note, never a read error that on_error could turn into
        # "enabled" while staff's switch is off.
        ({"enabled": False, "note": {"text": 12}}, None),
        ({"enabled": False, "note": {"text": ["a"]}}, None),
        ({"enabled": False, "note": {"text": "x" * 600}}, "x" * 499 + "\u2026"),
    ],
)
async def test_the_message_field_is_optional_text_beside_the_flag(
    aiohttp_server: AiohttpServer, document: dict[str, Any], message: str | None
) -> None:
    async def handler(_: web.Request) -> web.Response:
        return web.json_response(document)

    url = await serve(aiohttp_server, handler)
    assert await read(url, message_field="note.text") == Reading(False, None, message)
