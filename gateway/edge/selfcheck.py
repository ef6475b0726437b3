"""The self-check: after each flip, one real request to each target through the public listener.

`customer_portal.self_check` names a customer and an office target. Once at start (after the
first store read, once the listener is bound) and after each change of the effective state,
this process sends each target a GET over a real connection to its own public listener, from
a loopback address outside every allowlisted network, with no cookie at all (so no preview
and no session), and judges the answer (gateway/policy/selfcheck.py). A wrong answer is
retried until one TTL has passed (other workers, or a replica's proxy in front, may not have
read the store yet); then it is a failure: an ERROR line, `portal_gateway_self_check_ok{check}`
0 and `/_gateway/state`'s `self_check`. The next pass logs INFO and sets 1.

With `--workers N` each worker checks after its own flips; the kernel hands the probe's
connection to any worker, so a pass says the port answers right, and a failure past one TTL
that some worker (or the routes) does not. Shadow mode skips the check: nothing is refused
there, so there is nothing to prove.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from functools import partial
from typing import Any

import aiohttp
from aiohttp import web
from yarl import URL

from gateway.config import Config
from gateway.config.schema import SelfCheckTarget
from gateway.edge.keys import METRICS, POLLER, RUNTIME
from gateway.policy.selfcheck import CHECKS, Check, IPNetwork, Result, judge, passed, probe_source
from gateway.wire.values import rfc3339

log = logging.getLogger("gateway.selfcheck")

MAX_BODY = 256 * 1024  # the page is small; a check reads no more than this
SHADOW = "skipped: shadow mode (nothing is refused, so nothing to check)"


def allowlisted(config: Config) -> Sequence[IPNetwork]:
    """The networks that pass customer routes while disabled; the probe's source avoids them."""
    return config.customer_portal.allow_while_disabled


class SelfChecker:
    """This process's self-check: its listener, its last results, the round in progress."""

    def __init__(
        self,
        app: web.Application,
        *,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.app = app
        self.wall, self.monotonic, self.sleep = wall, monotonic, sleep
        self.address: tuple[str, int] | None = None
        self.results: dict[Check, Result] = {}
        self._round: asyncio.Task[None] | None = None
        self._start: asyncio.Task[None] | None = None
        self._failing: set[Check] = set()
        self.rounds = 0  # finished rounds, for tests that wait for one

    def listening(self, sockets: Sequence[Any]) -> None:
        """The public listener is bound (its socket names); the first check may run."""
        names = sorted(sockets, key=lambda name: ":" in str(name[0]))  # IPv4 first
        if not names:
            return
        host, port = str(names[0][0]), int(names[0][1])
        # A wildcard bind is reached on loopback, in its own family.
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
        self.address = (host, port)
        self._start = asyncio.get_running_loop().create_task(self._first())

    async def _first(self) -> None:
        await self.app[POLLER].wait_ready()
        self.trigger()

    def trigger(self, _enabled: bool | None = None) -> None:
        """Start a round now (a flip, or the start); a round in progress gives way to it."""
        if self.address is None:
            return  # before the listener is bound: `listening` starts the first round
        if self._round is not None:
            self._round.cancel()
        self._round = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        for task in (self._start, self._round):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def document(self) -> dict[str, Any] | None:
        """`/_gateway/state`'s `self_check`: per check ok, at (RFC 3339) and detail."""
        portal = self.app[RUNTIME].runtime.config.customer_portal
        if portal.self_check is None:
            return None
        out: dict[str, Any] = {}
        for check in CHECKS:
            if portal.mode == "shadow":
                out[check] = {"ok": None, "at": None, "detail": SHADOW, "skipped": True}
                continue
            result = self.results.get(check)
            if result is None:
                out[check] = {"ok": None, "at": None, "detail": "pending", "skipped": False}
            else:
                at = rfc3339(result.at)
                out[check] = {"ok": result.ok, "at": at, "detail": result.detail, "skipped": False}
        return out

    async def _run(self) -> None:
        config = self.app[RUNTIME].runtime.config
        targets = config.customer_portal.self_check
        if targets is None:
            return
        if config.customer_portal.mode == "shadow":
            log.info("self-check %s", SHADOW)
            for check in CHECKS:
                self.app[METRICS].self_check(check, None)
            self.rounds += 1
            return
        deadline = self.monotonic() + config.settings.ttl
        pending: dict[Check, SelfCheckTarget] = {
            "customer": targets.customer,
            "office": targets.office,
        }
        interval = min(max(config.settings.ttl / 10, 0.05), 1.0)
        while True:
            details: dict[Check, str] = {}
            for check, target in list(pending.items()):
                ok, detail = await self._probe(config, check, target)
                if ok:
                    self._report(check, True, detail)
                    del pending[check]
                else:
                    details[check] = detail
            if not pending:
                break
            if self.monotonic() >= deadline:
                for check, detail in details.items():
                    self._report(check, False, detail)
                break
            await self.sleep(interval)
        self.rounds += 1

    async def _probe(
        self, config: Config, check: Check, target: SelfCheckTarget
    ) -> tuple[bool, str]:
        assert self.address is not None
        host, port = self.address
        source = probe_source(allowlisted(config), ipv6=":" in host)
        if source is None:
            return False, "no loopback address outside the allowlisted networks to probe from"
        enabled = self.app[POLLER].state.enabled
        shown = f"[{host}]" if ":" in host else host
        url = URL(f"http://{shown}:{port}{target.target}", encoded=True)
        headers = {
            "Host": target.host,
            "Accept": "text/html",
            "User-Agent": "portal-gateway-self-check",
        }
        timeout = aiohttp.ClientTimeout(total=max(config.settings.timeout, 1.0))
        # SECURITY: a fresh connection bound to the non-allowlisted source, and no cookie jar:
        # the probe is a stranger with no preview and no session.
        connector = aiohttp.TCPConnector(local_addr=(source, 0), force_close=True)
        try:
            async with (
                aiohttp.ClientSession(
                    connector=connector, cookie_jar=aiohttp.DummyCookieJar(), timeout=timeout
                ) as session,
                session.get(url, headers=headers, allow_redirects=False) as response,
            ):
                body = (await response.content.read(MAX_BODY)).decode("utf-8", "replace")
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return False, f"{check} check {target.target}: no answer ({exc.__class__.__name__})"
        wrong = judge(check, enabled, status, body)
        if wrong is not None:
            return False, f"{wrong}: {target.host}{target.target}"
        return True, passed(check, enabled, status)

    def _report(self, check: Check, ok: bool, detail: str) -> None:
        self.results[check] = Result(ok, self.wall(), detail)
        self.app[METRICS].self_check(check, ok)
        if not ok:
            self._failing.add(check)
            log.error("self-check %s FAILED: %s", check, detail)
        elif check in self._failing:
            self._failing.discard(check)
            log.info("self-check %s passes again: %s", check, detail)
        else:
            log.info("self-check %s passed: %s", check, detail)


SELF_CHECK = web.AppKey("self_check", SelfChecker)


async def self_checker(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: rounds on every flip, until shutdown."""
    checker = app[SELF_CHECK]
    unsubscribe = app[POLLER].state.subscribe(partial(_on_flip, checker))
    yield
    unsubscribe()
    await checker.stop()


def _on_flip(checker: SelfChecker, enabled: bool) -> None:
    checker.trigger(enabled)
