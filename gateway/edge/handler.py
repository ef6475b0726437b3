"""The proxy front end of the gate: facts from the request, one decision, forward or answer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from aiohttp import hdrs, web

from gateway.config import Config
from gateway.edge.answers import deny_response, unavailable_response
from gateway.edge.exchanges import Cut, LiveExchange
from gateway.edge.facts import exact_reserved, is_websocket, proxy_facts
from gateway.edge.forward import UPSTREAM_SECONDS, Exchange, Forwarder
from gateway.edge.keys import EXCHANGES, POLLER, RUNTIME, SOCKETS
from gateway.edge.responses import error_response
from gateway.edge.websocket import relay_websocket
from gateway.policy import Allow, Deny, Gate, GateState, RequestFacts, gate_state
from gateway.policy.runtime import Runtime
from gateway.web.outcome import outcome
from gateway.wire.headers import (
    ForwardContext,
    Headers,
    client_ip,
    decode_raw,
    is_trusted,
    request_headers,
    request_id,
    values,
)

log = logging.getLogger("gateway")

ResponseEdit = Callable[[web.StreamResponse], Awaitable[None]]
ReservedHandler = Callable[[web.Request, str], Awaitable[web.StreamResponse]]


class Gateway:
    """The proxy front end: facts from the request, `decide()`, then forward or answer.

    The config and gate come from `app[RUNTIME]`, taken once per request; the decision counter
    and the access line are written by the middlewares (gateway/edge/middlewares.py) from the
    request's `Outcome`, which `handle` fills in.
    """

    def __init__(self, app: web.Application, session_key: bytes, wall: Callable[[], float]) -> None:
        self.app = app
        self.session_key = session_key
        self.wall = wall
        # Set by the upstream client's cleanup context (gateway/edge/lifecycle.py).
        self.forwarder: Forwarder | None = None
        # The reserved endpoints on the public listener (healthz and readyz, or every one with
        # admin_public); set by the app.
        self.admin: ReservedHandler | None = None

    @property
    def runtime(self) -> Runtime:
        return self.app[RUNTIME].runtime

    @runtime.setter
    def runtime(self, runtime: Runtime) -> None:
        self.app[RUNTIME].runtime = runtime

    @property
    def config(self) -> Config:
        return self.runtime.config

    def state(self) -> GateState:
        return gate_state(self.app[POLLER].state)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        started_at = self.wall()
        runtime = self.runtime
        cfg = runtime.config
        peer = request.remote or ""
        trusted = is_trusted(peer, cfg.proxy.trusted_proxies)
        try:
            client_headers = decode_raw(request.raw_headers)
        except ValueError:
            return error_response(request, 400, request_id([], False), close=True)
        note = outcome(request)
        rid = note.request_id = request_id(client_headers, trusted)
        note.client_ip = client_ip(
            peer, values(client_headers, "x-forwarded-for"), cfg.proxy.trusted_proxies
        )
        response: web.StreamResponse | None = None
        live: LiveExchange | None = None
        facts: RequestFacts | None = None
        try:
            if self.admin is not None and exact_reserved(request.raw_path, cfg.admin_prefix):
                note.route, note.portal, note.reason = "admin", "admin", "admin"
                response = await self.admin(request, rid)
                return response
            forwarded_proto = values(client_headers, "x-forwarded-proto") if trusted else []
            facts = proxy_facts(
                request,
                client_headers,
                client_ip=note.client_ip,
                secure=request.secure or forwarded_proto[:1] == ["https"],
                started_at=started_at,
                via=cfg.proxy.via,
            )
            state = self.state()
            try:
                decision = runtime.gate.decide(facts, state)
            except Exception:
                # SECURITY: the decision failed; fail closed (answered, never forwarded).
                log.exception("decision failed [request %s]", rid)
                note.reason = "classify_error"
                response = error_response(request, 500, rid, close=True)
                return response
            note.reason = decision.reason
            if isinstance(decision, Deny):
                note.cause = decision.cause
                if decision.route is not None:
                    note.route, note.portal = decision.route.name, decision.route.portal
                if decision.reason.startswith("refused_"):
                    log.info("refused %s: %s [request %s]", decision.status, decision.detail, rid)
                response = deny_response(
                    request, decision, cfg.customer_portal, rid, state, started_at
                )
                return response
            note.route, note.portal = decision.route.name, decision.route.portal
            note.cause = decision.shadowed
            if decision.route.portal == "customer":
                # SECURITY: held from the decision (no await since classification) to its last
                # byte, so a disable reaches it in every phase (gateway/edge/exchanges.py).
                live = self.app[EXCHANGES].register(request.method)
            response = await self._forward(
                request, decision, runtime, live, client_headers, peer, trusted, rid
            )
            if is_websocket(request) and note.reason == "forwarded":
                note.reason = "websocket"
            if live is not None and live.cut:
                note.reason = "customer_disabled_in_flight"
                note.cause = self.state().cause
            return response
        except Cut:
            # The portal turned off before the client got a byte: the gate's own answer, with
            # the session cookies the request carried expired, as a refusal would have.
            note.reason = "customer_disabled_in_flight"
            assert facts is not None
            current = self.state()
            note.cause = current.cause
            # enforce(): an exchange shadow mode let in, cut by a reload out of shadow mode,
            # gets enforce's answer too, its sessions expired.
            current = replace(current, enabled=False)
            denied = runtime.gate.enforce(facts, current)
            cookies = denied.set_cookies if isinstance(denied, Deny) else ()
            portal = cfg.customer_portal
            return unavailable_response(request, portal, current, self.wall(), cookies)
        except (asyncio.CancelledError, ConnectionError):
            raise
        except Exception:
            # SECURITY: an unexpected failure answers the request; it is never forwarded.
            log.exception("request failed [request %s]", rid)
            note.reason = "internal_error"
            if response is not None and response.prepared:
                raise
            return error_response(request, 500, rid, close=True)
        finally:
            note.upstream_seconds = request.get(UPSTREAM_SECONDS)
            if live is not None:
                live.done()

    async def _forward(
        self,
        request: web.Request,
        allow: Allow,
        runtime: Runtime,
        live: LiveExchange | None,
        client_headers: Headers,
        peer: str,
        trusted: bool,
        rid: str,
    ) -> web.StreamResponse:
        cfg = runtime.config
        headers = request_headers(
            client_headers,
            ForwardContext(
                peer=peer,
                trusted_peer=trusted,
                scheme=request.scheme,
                host=allow.host_header,
                http_version=f"{request.version.major}.{request.version.minor}",
                via=cfg.proxy.via,
                request_id=rid,
                emit_forwarded=cfg.proxy.emit_forwarded,
            ),
        )
        if allow.cookie_edited:
            # SECURITY: the upstream sees neither stale sessions nor the gateway's own stamp.
            headers = [(k, v) for k, v in headers if k.lower() != "cookie"]
            if allow.upstream_cookie is not None:
                headers.append(("Cookie", allow.upstream_cookie))
        on_response = []
        if allow.stamp is not None:
            on_response.append(self._restamp(runtime.gate, allow))
        elif allow.set_cookies:
            on_response.append(_add_cookies(allow.set_cookies))
        assert self.forwarder is not None
        route = allow.route
        exchange = Exchange(
            request=request,
            upstream=cfg.upstreams[route.upstream],
            target=allow.target.forward,
            headers=headers,
            request_id=rid,
            on_response=tuple(on_response),
            live=live,
            sockets=self.app[SOCKETS],
            client_max_size=route.client_max_size,
        )
        if is_websocket(request):
            return await relay_websocket(self.forwarder, exchange)
        return await self.forwarder.forward(exchange)

    def _restamp(self, gate: Gate, allow: Allow) -> ResponseEdit:
        plan = allow.stamp
        assert plan is not None

        async def edit(response: web.StreamResponse) -> None:
            lines = response.headers.getall(hdrs.SET_COOKIE, [])
            keep, added = gate.respond(plan, lines, self.state(), self.wall())
            if keep == lines and not added:
                return
            response.headers.popall(hdrs.SET_COOKIE, None)
            for line in (*keep, *added):
                response.headers.add(hdrs.SET_COOKIE, line)

        return edit


def _add_cookies(lines: tuple[str, ...]) -> ResponseEdit:
    async def edit(response: web.StreamResponse) -> None:
        for line in lines:
            response.headers.add(hdrs.SET_COOKIE, line)

    return edit


GATEWAY = web.AppKey("gateway", Gateway)
