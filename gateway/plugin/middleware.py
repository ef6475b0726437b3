"""The gate in an aiohttp application: the app's own requests, the same routes, one Decision.

`PluginGate.handle` is the outermost middleware: it builds `RequestFacts` from the request the
app received, asks `Gate.decide`, and either answers a Deny itself (the app's handler never
runs) or calls the handler with the Cookie header the decision left. The answer's Set-Cookie
lines pass `Gate.respond()` in `on_response_prepare`, whoever prepared it (the handler for a
stream or WebSocket, aiohttp for a returned response or a raised HTTPException).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from aiohttp import WSCloseCode, hdrs, web
from aiohttp.typedefs import Handler
from multidict import CIMultiDict

from gateway.config import Config
from gateway.plugin.accounting import Accounting
from gateway.plugin.facts import plugin_facts
from gateway.plugin.inflight import InFlight, Live
from gateway.policy import Allow, Deny, Gate, GateState, RequestFacts, gate_state
from gateway.policy.pages import deny_page, error_page, unavailable_page
from gateway.policy.runtime import Runtime
from gateway.settings.poller import Poller
from gateway.web.outcome import Outcome, outcome
from gateway.web.pages import page_response
from gateway.web.preview import is_preview, open_preview

log = logging.getLogger("gateway.plugin")


@dataclass
class Answer:
    """What the answer to one allowed request needs when it is prepared."""

    gate: Gate
    allow: Allow
    live: Live | None
    response: web.StreamResponse | None = None  # a customer answer its handler started
    replaced: bool = False  # the gate answered instead of the handler: nothing to stamp


class Withdrawn(Exception):
    """Raised from `prepare()`: the portal turned off before this answer's first byte."""


ANSWER = web.RequestKey("portal_gateway_answer", Answer)


class PluginGate:
    """The gate for one application: the current config and gate, the poller, live requests."""

    def __init__(
        self, config: Config, session_key: bytes, poller: Poller, wall: Callable[[], float]
    ) -> None:
        self.session_key = session_key
        self.runtime = Runtime(config, Gate(config, session_key))
        self.poller = poller
        self.wall = wall
        self.inflight = InFlight()
        # The proxy's series and access line, for the app's own requests (`metrics_text()`).
        self.accounting = Accounting(config)

    @property
    def config(self) -> Config:
        return self.runtime.config

    def state(self) -> GateState:
        return gate_state(self.poller.state)

    def reload(self, config: Config) -> None:
        """Routes, hosts and the portal's page and cookies of `config` apply to the next
        request; the settings store and the session key keep their running values."""
        was_shadow = self.runtime.gate.shadow
        self.runtime = Runtime(config, Gate(config, self.session_key))
        if was_shadow and not self.runtime.gate.shadow and not self.poller.state.enabled:
            # SECURITY: leaving shadow mode while disabled ends what shadow mode let in.
            self.inflight.on_disable(grace=config.proxy.read_timeout)

    def on_portal_change(self, enabled: bool) -> None:
        # Shadow mode cuts nothing in flight (gateway/policy/shadow.py).
        if not enabled and not self.runtime.gate.shadow:
            self.inflight.on_disable(grace=self.config.proxy.read_timeout)

    # -- request phase ---------------------------------------------------------------------
    async def handle(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """The gate, then the app's handler; counted and logged as the proxy counts and logs."""
        started = time.monotonic()
        note = outcome(request)
        response: web.StreamResponse | None = None
        try:
            response = await self._gate(request, handler, note)
            return response
        except web.HTTPException as exc:  # the app's handler raised its answer
            response = exc
            raise
        finally:
            seconds = time.monotonic() - started
            self.accounting.record(request, response, note, seconds, self.config)

    def metrics_text(self) -> str:
        """The Prometheus text of this gate's series, its portal gauges as of now: for the
        app to serve where its scrapes go (never on a customer-facing route by default)."""
        return self.accounting.metrics_text(self.poller.state, self.config.settings.max_stale)

    async def _gate(
        self, request: web.Request, handler: Handler, note: Outcome
    ) -> web.StreamResponse:
        runtime = self.runtime
        facts = plugin_facts(request, self.wall(), runtime.config.proxy.trusted_proxies)
        portal = runtime.config.customer_portal
        rid = note.request_id = uuid.uuid4().hex
        note.client_ip = facts.client_ip
        state = self.state()
        if is_preview(request.raw_path, runtime.config.admin_prefix):
            # The gate's own endpoint: the app's handlers never see a preview link.
            note.reason = "admin"
            return open_preview(request, runtime.config, runtime.gate, state, facts.started_at, rid)
        note.reason = "classify_error"  # until the gate has decided
        try:
            decision = runtime.gate.decide(facts, state)
        except Exception:
            # SECURITY: the decision failed; fail closed (the app's handler never runs).
            log.exception("decision failed [request %s]", rid)
            return page_response(error_page(500, rid, facts.accept, close=True))
        note.reason = decision.reason
        if decision.route is not None:
            note.route, note.portal = decision.route.name, decision.route.portal
        if isinstance(decision, Deny):
            note.cause = decision.cause
            if decision.reason.startswith("refused_"):
                log.info("refused %s: %s [request %s]", decision.status, decision.detail, rid)
            return page_response(
                deny_page(
                    decision,
                    portal,
                    rid,
                    state,
                    facts.started_at,
                    facts.accept,
                    facts.accept_language,
                )
            )
        live = None
        note.cause = decision.shadowed
        if decision.shadowed is not None:
            # Also said in the log, beside the access line: the app's own logs may be all ops read.
            log.info(
                "shadow: decision would_block, route %s, reason %s [request %s]",
                decision.route.name,
                decision.shadowed,
                rid,
            )
        if decision.route.portal == "customer":
            # SECURITY: held from the decision (no await since) until the handler is done, so
            # a disable reaches it in every phase (gateway/plugin/inflight.py).
            live = self.inflight.register(request.method, request.body_exists)
        answer = Answer(runtime.gate, decision, live)
        # Before the clone below: a clone copies the request's state, so the answer is found
        # whichever of the two requests the handler prepares its response with.
        request[ANSWER] = answer
        seen = request
        if decision.cookie_edited:
            # SECURITY: the app's handlers (and its own middlewares, which run inside this
            # one) see neither stale sessions nor the gate's stamp.
            headers = CIMultiDict(request.headers)
            headers.popall(hdrs.COOKIE, None)
            if decision.upstream_cookie is not None:
                headers[hdrs.COOKIE] = decision.upstream_cookie
            seen = request.clone(headers=headers)
        if live is None:
            return await handler(seen)
        try:
            return await self._run(seen, handler, answer, live, facts)
        finally:
            live.done()
            if live.cut:
                note.reason, note.cause = "customer_disabled_in_flight", self.state().cause

    async def _run(
        self,
        request: web.Request,
        handler: Handler,
        answer: Answer,
        live: Live,
        facts: RequestFacts,
    ) -> web.StreamResponse:
        # Its own task, so a disable can cancel exactly the handler (see inflight.py).
        task: asyncio.Task[web.StreamResponse] = asyncio.ensure_future(handler(request))
        live.task = task
        try:
            response = await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not live.cut or (current is not None and current.cancelling()):
                raise
            if answer.response is not None:
                return answer.response  # started: its connection is aborted already
            return self._unavailable(facts, answer)
        except (web.HTTPException, Withdrawn):
            if live.cut:
                return self._unavailable(facts, answer)
            raise
        if live.cut and not response.prepared:
            # The portal turned off while the handler ran: from the switch on, customers see
            # the gate's answer, whatever the handler had decided.
            return self._unavailable(facts, answer)
        return response

    def _unavailable(self, facts: RequestFacts, answer: Answer) -> web.Response:
        answer.replaced = True
        runtime = self.runtime
        state = replace(self.state(), enabled=False)
        denied = runtime.gate.enforce(facts, state)
        cookies = denied.set_cookies if isinstance(denied, Deny) else ()
        portal = runtime.config.customer_portal
        page = unavailable_page(
            portal, state, self.wall(), facts.accept, facts.accept_language, cookies, close=False
        )
        return page_response(page)

    # -- response phase --------------------------------------------------------------------
    def prepared(self, request: web.BaseRequest, response: web.StreamResponse) -> None:
        answer = request.get(ANSWER)
        if answer is None or answer.replaced:
            return
        allow, live = answer.allow, answer.live
        lines = response.headers.getall(hdrs.SET_COOKIE, [])
        if allow.stamp is not None:
            keep, added = answer.gate.respond(allow.stamp, lines, self.state(), self.wall())
        else:
            keep, added = list(lines), list(allow.set_cookies)
        if keep != lines or added:
            response.headers.popall(hdrs.SET_COOKIE, None)
            for line in (*keep, *added):
                response.headers.add(hdrs.SET_COOKIE, line)
        if live is None or live.finished:
            return  # answered by aiohttp after the handler returned: nothing more to cut
        websocket = isinstance(response, web.WebSocketResponse)
        if live.cut and not websocket:
            # A handler that may change state ran on past the switch and now starts a stream:
            # no byte of it goes out; the middleware answers with the unavailable page.
            raise Withdrawn
        answer.response = response
        if isinstance(response, web.WebSocketResponse):
            live.streaming(lambda: self.inflight.spawn(_try_again_later(response)), websocket=True)
        else:
            transport = request.transport
            live.streaming(lambda: transport.abort() if transport is not None else None)


async def _try_again_later(ws: web.WebSocketResponse) -> None:
    """The portal was switched off: 1013 "Try Again Later" (RFC 6455 registry)."""
    await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"customer portal disabled")


@web.middleware
async def gate_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    plugin: PluginGate = request.config_dict[PLUGIN]
    return await plugin.handle(request, handler)


async def on_response_prepare(request: web.BaseRequest, response: web.StreamResponse) -> None:
    if isinstance(request, web.Request):
        plugin: PluginGate = request.config_dict[PLUGIN]
        plugin.prepared(request, response)


PLUGIN = web.AppKey("portal_gateway", PluginGate)
