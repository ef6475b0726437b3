"""The reserved endpoints through the real app: readiness tells the truth about the store."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pytest_aiohttp import AiohttpClient, AiohttpServer

from gateway.app import create_app
from gateway.config import config_from_text
from gateway.edge.keys import DRAINING, POLLER
from gateway.edge.server import GatewayServer
from gateway.testing import MemorySource
from tests.conftest import GatewayTestServer, StartGateway, StartUpstream, config_text

Client = TestClient[web.Request, web.Application]
READY_STORE = "ready (customer portal enabled, cause store)\n"
READY_UNAVAILABLE = "ready (customer portal enabled, cause store_unavailable)\n"


class SlowStore:
    """A settings store (a real server) that answers only once `answer` is set."""

    def __init__(self) -> None:
        self.answer = asyncio.Event()
        self.enabled = True
        self.status = 200
        self.asked = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.asked += 1
        await self.answer.wait()
        return web.json_response({"enabled": self.enabled}, status=self.status)


@asynccontextmanager
async def gateway_in_front_of(
    store: SlowStore,
    aiohttp_server: AiohttpServer,
    aiohttp_client: Callable[..., Awaitable[Client]],
    upstream_url: str,
    timeout: str,
) -> AsyncIterator[tuple[Client, TestServer]]:
    app = web.Application()
    app.router.add_get("/setting", store.handle)
    server = await aiohttp_server(app)
    settings = (
        f"source: http://127.0.0.1:{server.port}/setting\nfield: enabled\n"
        f"ttl: 30\ntimeout: {timeout}\n"
    )
    config = config_from_text(config_text(upstream_url, settings=settings), "test.yaml")
    # The app builds its own poller from the config, exactly as `portal-gateway run` does.
    gateway = create_app(config)
    client = await aiohttp_client(
        GatewayTestServer(gateway, config), cookie_jar=aiohttp.DummyCookieJar()
    )
    yield client, server


async def answer(client: Client, path: str) -> tuple[int, str]:
    async with client.get(path) as resp:
        return resp.status, await resp.text()


async def test_readyz_waits_for_the_first_store_answer_then_survives_the_store_going_down(
    aiohttp_server: AiohttpServer, aiohttp_client: AiohttpClient, upstream: StartUpstream
) -> None:
    up = await upstream()
    store = SlowStore()
    async with gateway_in_front_of(store, aiohttp_server, aiohttp_client, up.url, "5s") as (
        client,
        server,
    ):
        for _ in range(100):  # the store is asked at start (the first read is never jittered)
            if store.asked:
                break
            await asyncio.sleep(0.01)
        assert store.asked == 1
        assert await answer(client, "/_gateway/readyz") == (
            503,
            "not ready: first settings read pending\n",
        )
        # Traffic that arrives anyway gets the cold-start policy: office passes, customers wait.
        assert (await answer(client, "/office/x"))[0] == 200
        assert (await answer(client, "/home"))[0] == 503
        store.answer.set()
        await client.app[POLLER].refresh()  # joins the first read, now answered
        assert await answer(client, "/_gateway/readyz") == (200, READY_STORE)
        assert (await answer(client, "/home"))[0] == 200
        # The store goes down (error pages, then nothing listening): still ready, because
        # dropping every replica would take the Office Portal down with the store; the body
        # says customers now get the last known value because the store cannot be read.
        store.status = 500
        await client.app[POLLER].refresh()
        assert client.app[POLLER].state.last_error is not None
        assert await answer(client, "/_gateway/readyz") == (200, READY_UNAVAILABLE)
        await server.close()
        await client.app[POLLER].refresh()
        assert await answer(client, "/_gateway/readyz") == (200, READY_UNAVAILABLE)
        assert (await answer(client, "/office/x"))[0] == 200


async def test_readyz_turns_200_when_the_first_read_times_out(
    aiohttp_server: AiohttpServer, aiohttp_client: AiohttpClient, upstream: StartUpstream
) -> None:
    up = await upstream()
    store = SlowStore()  # never answers
    async with gateway_in_front_of(store, aiohttp_server, aiohttp_client, up.url, "300ms") as (
        client,
        server,
    ):
        assert (await answer(client, "/_gateway/readyz"))[0] == 503
        await client.app[POLLER].refresh()  # returns when the read gives up, 300 ms in
        assert await answer(client, "/_gateway/readyz") == (
            200,
            "ready (customer portal disabled, cause store_unavailable)\n",
        )
        assert client.app[POLLER].state.last_error == (
            f"http://127.0.0.1:{server.port}/setting: no answer within 0.3s"
        )
        assert (await answer(client, "/home"))[0] == 503  # cold start: disabled


async def test_readyz_names_draining(
    aiohttp_server: AiohttpServer, aiohttp_client: AiohttpClient, upstream: StartUpstream
) -> None:
    up = await upstream()
    store = SlowStore()
    store.answer.set()
    async with gateway_in_front_of(store, aiohttp_server, aiohttp_client, up.url, "5s") as (
        client,
        _,
    ):
        await client.app[POLLER].refresh()
        client.app[DRAINING].active = True
        assert await answer(client, "/_gateway/readyz") == (503, "not ready: draining\n")
        assert await answer(client, "/_gateway/healthz") == (200, "ok\n")


async def test_state_says_what_this_process_believes_and_why(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    gw = await gateway((await upstream()).url)
    assert isinstance(gw.source, MemorySource)

    async def state() -> dict[str, Any]:
        async with gw.client.get("/_gateway/state") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
            assert resp.headers["Cache-Control"] == "no-store"
            document: dict[str, Any] = await resp.json()
            return document

    first = await state()
    assert {k: first[k] for k in ("effective", "cause", "store_value", "last_error")} == {
        "effective": "enabled",
        "cause": "store",
        "store_value": "enabled",
        "last_error": None,
    }
    assert (first["worker"], first["config_digest"], first["mode"]) == (
        os.getpid(),
        gw.config.digest,
        "enforce",
    )
    assert first["last_read_at"].endswith("Z") and first["last_success_at"].endswith("Z")
    gw.source.fail("connection refused")
    await gw.poller.refresh()
    down = await state()
    assert (down["effective"], down["cause"], down["store_value"]) == (
        "enabled",
        "store_unavailable",
        "enabled",
    )
    assert down["last_error"] == "memory://: connection refused"
    assert down["last_success_at"] == first["last_success_at"]
    async with gw.client.head("/_gateway/state") as resp:
        assert resp.status == 200
    async with gw.client.post("/_gateway/state") as resp:
        assert resp.status == 405


async def test_the_config_digest_follows_a_reload(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url)
    async with gw.client.get("/_gateway/state") as resp:
        assert (await resp.json())["config_digest"] == gw.config.digest
    text = config_text(up.url, "admin_public: true\nproxy:\n  server_header: edge-2\n")
    new = config_from_text(text, "test.yaml")
    assert new.digest != gw.config.digest
    assert GatewayServer(gw.client.app, gw.config).reload(new) == []
    async with gw.client.get("/_gateway/state") as resp:
        assert (await resp.json())["config_digest"] == new.digest
