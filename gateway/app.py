"""create_app(config) -> web.Application: wiring only."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import replace

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from gateway import admin, cookies
from gateway.classify import Refused, classify
from gateway.config import Config
from gateway.exchanges import Cut, Exchanges, LiveExchange, Phase
from gateway.headers import (
    ForwardContext,
    client_ip,
    decode_raw,
    is_trusted,
    request_headers,
    request_id,
    values,
    via_has_loop,
)
from gateway.keys import (
    CONFIG,
    DRAINING,
    EXCHANGES,
    GAUGES,
    METRICS,
    POLLER,
    READY,
    SESSION,
    SOCKETS,
    Draining,
)
from gateway.live import LiveConnections
from gateway.observability import Metrics, access_log
from gateway.proxy import Exchange, Forwarder, RelayResponse, make_session
from gateway.responses import error_response
from gateway.rules import RouteContext, Rule, build_rules
from gateway.rules.portal_gate import unavailable_response
from gateway.settings import make_source
from gateway.settings.poller import Poller
from gateway.websocket import relay_websocket

log = logging.getLogger("gateway")


def _is_websocket(request: web.BaseRequest) -> bool:
    upgrade = request.headers.get(hdrs.UPGRADE, "").lower()
    tokens = {
        t.strip().lower()
        for line in request.headers.getall(hdrs.CONNECTION, [])
        for t in line.split(",")
    }
    return request.method == hdrs.METH_GET and upgrade == "websocket" and "upgrade" in tokens


def _on_admin_listener(request: web.BaseRequest, config: Config) -> bool:
    if config.admin_listen is None or request.transport is None:
        return False
    local = request.transport.get_extra_info("sockname")
    return bool(local) and int(local[1]) == config.admin_listen[1]


class Gateway:
    """The one request handler: classify, run the route's rules, forward."""

    def __init__(
        self,
        app: web.Application,
        rule_factory: Callable[[Config], Mapping[str, Sequence[Rule]]],
        session_key: bytes,
    ) -> None:
        self.app = app
        self.config = app[CONFIG]
        self.rule_factory = rule_factory
        self.session_key = session_key
        self.rules = rule_factory(self.config)
        self.forwarder: Forwarder | None = None
        self.admin = admin.Admin(app, lambda: self.config, lambda: app[POLLER].state.enabled)

    def apply(self, new: Config) -> list[str]:
        """Swap in a re-read config (SIGHUP); returns the changes that still need a restart.

        Routes, hosts, the customer portal's page and cookies, and per-request proxy settings
        apply to the next request. The listener, the settings store, the session key and the
        upstream client's timeouts and pool keep their running values until a restart.
        """
        old = self.config
        later = []
        if (new.listen_host, new.listen_port) != (old.listen_host, old.listen_port):
            later.append("listen")
        if new.settings != old.settings:
            later.append("settings")
        if new.customer_portal.session_key not in (None, self.session_key):
            later.append("customer_portal.session_key")
        fixed = (
            "connect_timeout",
            "read_timeout",
            "keepalive_timeout",
            "pool_size",
            "max_field_size",
            "header_timeout",
        )
        if any(getattr(new.proxy, name) != getattr(old.proxy, name) for name in fixed):
            later.append("proxy timeouts and pool")
        config = replace(
            new,
            listen_host=old.listen_host,
            listen_port=old.listen_port,
            settings=old.settings,
            customer_portal=replace(new.customer_portal, session_key=self.session_key),
        )
        rules = self.rule_factory(config)
        # Two attribute stores, no await between them: a request sees the old pair or the new.
        self.config, self.rules = config, rules
        if self.forwarder is not None:
            self.forwarder.proxy = config.proxy
        return later

    async def handle(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        cfg = self.config
        peer = request.remote or ""
        trusted = is_trusted(peer, cfg.proxy.trusted_proxies)
        try:
            client_headers = decode_raw(request.raw_headers)
        except ValueError:
            return error_response(request, 400, request_id([], False), close=True)
        rid = request_id(client_headers, trusted)
        ip = client_ip(peer, values(client_headers, "x-forwarded-for"), cfg.proxy.trusted_proxies)
        route_name, reason = "-", "forwarded"
        response: web.StreamResponse | None = None
        live: LiveExchange | None = None
        try:
            is_admin = request.raw_path == cfg.admin_prefix or request.raw_path.startswith(
                cfg.admin_prefix + "/"
            )
            on_admin_listener = _on_admin_listener(request, cfg)
            if is_admin or on_admin_listener:
                route_name, reason = "admin", "admin"
                if is_admin and on_admin_listener == (cfg.admin_listen is not None):
                    response = await self.admin.handle(request, rid, cfg.admin_prefix)
                else:
                    # Reserved paths are never proxied, and the admin listener proxies nothing.
                    response = error_response(request, 404, rid)
                return response
            try:
                classified = classify(request, cfg)
            except Refused as exc:
                route_name, reason = "-", f"refused_{exc.status}"
                log.info("refused %s: %s [request %s]", exc.status, exc.reason, rid)
                # A refused request may be the front half of a desync attempt: never reuse.
                response = error_response(request, exc.status, rid, close=True)
                return response
            except Exception:
                # SECURITY: classification failed; fail closed (answered, never forwarded).
                log.exception("classification failed [request %s]", rid)
                route_name, reason = "-", "classify_error"
                response = error_response(request, 500, rid, close=True)
                return response
            route = classified.route
            route_name = route.name
            if route.portal == "customer":
                # SECURITY: held from classification to its last byte, so a disable reaches
                # it in every phase (gateway/exchanges.py), rules and connect included.
                live = self.app[EXCHANGES].register(request.method)
            if via_has_loop(client_headers, cfg.proxy.via):
                reason = "loop"
                response = error_response(request, 508, rid, close=request.body_exists)
                return response
            forward_headers = request_headers(
                client_headers,
                ForwardContext(
                    peer=peer,
                    trusted_peer=trusted,
                    scheme=request.scheme,
                    host=classified.host_header,
                    http_version=f"{request.version.major}.{request.version.minor}",
                    via=cfg.proxy.via,
                    request_id=rid,
                    emit_forwarded=cfg.proxy.emit_forwarded,
                ),
            )
            ctx = RouteContext(classified, rid, ip, forward_headers, [])
            for rule in self.rules.get(route.portal, ()):
                answer = await rule(request, ctx)
                if answer is not None:
                    reason = ctx.reason
                    response = answer
                    return response
            assert self.forwarder is not None
            exchange = Exchange(
                request=request,
                upstream=cfg.upstreams[route.upstream],
                target=classified.target.forward,
                headers=ctx.upstream_headers,
                request_id=rid,
                on_response=ctx.on_response,
                live=live,
                sockets=self.app[SOCKETS],
            )
            if _is_websocket(request):
                reason = "websocket"
                response = await relay_websocket(self.forwarder, exchange)
            else:
                response = await self.forwarder.forward(exchange)
            if live is not None and live.cut:
                reason = "customer_disabled_in_flight"
            return response
        except Cut:
            # The portal turned off before the client got a byte: the gate's own answer.
            reason = "customer_disabled_in_flight"
            portal = cfg.customer_portal
            matcher = cookies.SessionCookieMatcher(portal.session_cookies)
            response = unavailable_response(request, portal, matcher)
            return response
        except (asyncio.CancelledError, ConnectionError):
            raise
        except Exception:
            # SECURITY: an unexpected failure answers the request; it is never forwarded.
            log.exception("request failed [request %s]", rid)
            reason = "internal_error"
            if response is not None and response.prepared:
                raise
            response = error_response(request, 500, rid, close=True)
            return response
        finally:
            if live is not None:
                live.done()
            self.app[METRICS].decision(route_name, reason)
            access_log(request, response, ip, rid, route_name, time.monotonic() - started)


GATEWAY = web.AppKey("gateway", Gateway)


def _session_key(config: Config) -> bytes:
    if config.customer_portal.session_key is not None:
        return config.customer_portal.session_key
    log.warning(
        "no customer_portal.session_key (or PORTAL_GATEWAY_SESSION_KEY): using a random key; "
        "session stamps will not survive a restart or agree across gateway processes"
    )
    return secrets.token_bytes(32)


def create_app(
    config: Config, *, poller: Poller | None = None, wall: Callable[[], float] = time.time
) -> web.Application:
    """The gateway application; `poller` and the wall clock may be injected (tests)."""
    app = web.Application()
    app[CONFIG] = config
    app[METRICS] = Metrics()
    app[EXCHANGES] = Exchanges()
    app[SOCKETS] = LiveConnections()
    app[DRAINING] = Draining()
    if poller is None:
        poller = Poller(make_source(config.settings), config.settings)
    app[POLLER] = poller
    state = poller.state
    app[READY] = lambda: state.ready and not app[DRAINING].active

    def gauges() -> dict[str, float]:
        phases = app[EXCHANGES].counts()
        return {
            "portal_gateway_customer_portal_enabled": float(state.enabled),
            # Answers relaying and WebSockets, as before; in flight counts every phase.
            "portal_gateway_live_customer_connections": float(
                phases[Phase.RELAYING] + phases[Phase.WEBSOCKET]
            ),
            "portal_gateway_customer_exchanges_in_flight": float(sum(phases.values())),
        }

    app[GAUGES] = gauges
    key = _session_key(config)

    def rule_factory(cfg: Config) -> Mapping[str, Sequence[Rule]]:
        return build_rules(lambda: state.enabled, lambda: state.last_disabled_at, cfg, key, wall)

    gateway = Gateway(app, rule_factory, key)
    app[GATEWAY] = gateway

    @web.middleware
    async def every_request(request: web.Request, handler: Handler) -> web.StreamResponse:
        # Every request, even one aiohttp's router cannot match (CONNECT host:port, OPTIONS *),
        # is answered by the gateway itself, never by aiohttp's defaults.
        return await gateway.handle(request)

    app.middlewares.append(every_request)

    async def upstream_client(app: web.Application) -> AsyncIterator[None]:
        session = make_session(config.proxy)
        app[SESSION] = session
        gateway.forwarder = Forwarder(session, config.proxy)
        yield
        await session.close()

    def on_portal_change(enabled: bool) -> None:
        if not enabled:
            # Every customer exchange in flight ends now by its phase, not when it next sends;
            # a committed one gets read_timeout to finish (gateway/exchanges.py).
            app[EXCHANGES].on_disable(grace=gateway.config.proxy.read_timeout)

    async def settings_poller(app: web.Application) -> AsyncIterator[None]:
        unsubscribe = state.subscribe(on_portal_change)
        await poller.start()
        yield
        unsubscribe()
        await poller.stop()
        await app[EXCHANGES].wait_closed()  # WebSocket closings a disable started

    own_server = config.proxy.server_header or "portal-gateway"

    async def name_our_answers(request: web.Request, response: web.StreamResponse) -> None:
        # Answers the gateway gives itself say so; relayed ones keep the upstream's Server.
        if not isinstance(response, RelayResponse):
            response.headers[hdrs.SERVER] = own_server

    app.on_response_prepare.append(name_our_answers)

    app.cleanup_ctx.append(upstream_client)
    app.cleanup_ctx.append(settings_poller)
    # Expect is answered by the forwarder (or never, when a rule answers first): aiohttp's
    # default would send 100 Continue before the gateway has decided anything.
    app.router.add_route("*", "/{tail:.*}", gateway.handle, expect_handler=_no_expect)
    return app


async def _no_expect(request: web.Request) -> None:
    return None
