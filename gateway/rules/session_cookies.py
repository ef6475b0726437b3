"""Logout-on-disable that outlives the disable: customer sessions are stamped when they start.

The upstream's session cookie is opaque to the gateway, so the gateway keeps its own record of
when it saw each session begin: an aiohttp-session EncryptedCookieStorage cookie holding, per
session cookie name, a hash of the cookie's value and the time it was set. A session whose
stamp predates the most recent disable, or that has no valid stamp once a disable has been seen,
is stripped from the request before it reaches the upstream and deleted in the browser. So a
customer who stayed away while the portal was off must still log in again after it is back.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

from aiohttp import hdrs, web
from aiohttp_session import Session
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from gateway import cookies
from gateway.config import CustomerPortalConfig
from gateway.rules import RouteContext

log = logging.getLogger("gateway.sessions")

STAMP_MAX_AGE = 400 * 24 * 3600  # the longest lifetime browsers grant a cookie


def _digest(key: bytes, name: str, value: str) -> str:
    # Binds a stamp to one session value: a stamp copied beside another session never matches.
    return hmac.new(key, f"{name}={value}".encode(), hashlib.sha256).hexdigest()[:32]


def _is_deletion(set_cookie: str, now: float) -> bool:
    first, *attrs = set_cookie.split(";")
    if not first.partition("=")[2].strip().strip('"'):
        return True
    for attr in attrs:
        name, _, value = attr.strip().partition("=")
        name = name.lower()
        if name == "max-age":
            try:
                if int(value) <= 0:
                    return True
            except ValueError:
                pass
        elif name == "expires":
            try:
                if parsedate_to_datetime(value).timestamp() <= now:
                    return True
            except (TypeError, ValueError):
                pass
    return False


class SessionStamps:
    """Strips and expires customer sessions that began before the most recent disable."""

    def __init__(
        self,
        last_disabled_at: Callable[[], float | None],
        portal: CustomerPortalConfig,
        key: bytes,
        *,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.last_disabled_at = last_disabled_at
        self.portal = portal
        self.wall = wall
        self.matcher = cookies.SessionCookieMatcher(portal.session_cookies)
        self._key = hashlib.sha256(b"portal-gateway stamp " + key).digest()
        params: dict[str, Any] = {
            "cookie_name": portal.stamp_cookie,
            "max_age": STAMP_MAX_AGE,
            "httponly": True,
            "samesite": "Lax",
            "path": "/",
        }
        self._storage = EncryptedCookieStorage(self._key, secure=False, **params)
        self._secure_storage = EncryptedCookieStorage(self._key, secure=True, **params)

    def __repr__(self) -> str:  # never show the key
        return f"SessionStamps(cookie={self.portal.stamp_cookie!r})"

    def _stale(self, carried: list[tuple[str, str]], stamps: dict[str, Any]) -> list[str]:
        disabled_at = self.last_disabled_at()
        if disabled_at is None:
            return []
        stale = []
        for name, value in carried:
            entry = stamps.get(name)
            # SECURITY: a session passes only with a stamp for this exact value, set after the
            # most recent disable. A missing, foreign or undecryptable stamp fails closed.
            if (
                not isinstance(entry, dict)
                or not hmac.compare_digest(str(entry.get("h", "")), _digest(self._key, name, value))
                or not isinstance(entry.get("t"), int | float)
                or entry["t"] <= disabled_at
            ):
                stale.append(name)
        return stale

    async def __call__(
        self, request: web.Request, ctx: RouteContext, /
    ) -> web.StreamResponse | None:
        cookie_lines = request.headers.getall(hdrs.COOKIE, [])
        pairs = cookies.parse(cookie_lines)
        carried = [(n, v) for n, v in pairs if n and self.matcher(n)]
        secure = request.secure or any(
            k.lower() == "x-forwarded-proto" and v == "https" for k, v in ctx.upstream_headers
        )
        storage = self._secure_storage if secure else self._storage
        session = await storage.load_session(request)
        stamps: dict[str, Any] = dict(session.get("s") or {})
        stale = self._stale(carried, stamps)
        if stale:
            log.info(
                "customer session from before the last disable stripped: %s [request %s]",
                ", ".join(stale),
                ctx.request_id,
            )
            ctx.reason = "stale_session_stripped"
        if cookie_lines:
            # SECURITY: the upstream sees neither the stale sessions nor the gateway's own stamp.
            remaining = cookies.without(cookie_lines, [*stale, self.portal.stamp_cookie])
            ctx.upstream_headers[:] = [
                (k, v) for k, v in ctx.upstream_headers if k.lower() != "cookie"
            ]
            if remaining is not None:
                ctx.upstream_headers.append(("Cookie", remaining))

        async def after(response: web.StreamResponse) -> None:
            await self._restamp(request, response, storage, session, stamps, stale)

        ctx.on_response.append(after)
        return None

    async def _restamp(
        self,
        request: web.Request,
        response: web.StreamResponse,
        storage: EncryptedCookieStorage,
        session: Session,
        stamps: dict[str, Any],
        stale: list[str],
    ) -> None:
        now = self.wall()
        changed = False
        set_by_upstream = set()
        for line in response.headers.getall(hdrs.SET_COOKIE, []):
            name, _, value = line.split(";", 1)[0].partition("=")
            name = name.strip()
            if not self.matcher(name):
                continue
            set_by_upstream.add(name)
            if _is_deletion(line, now):
                changed |= stamps.pop(name, None) is not None
            else:
                stamps[name] = {"h": _digest(self._key, name, value.strip().strip('"')), "t": now}
                changed = True
        for name in stale:
            if name in set_by_upstream:
                continue
            for line in cookies.expiry_lines(
                name, self.portal.cookie_paths, self.portal.cookie_domains
            ):
                response.headers.add(hdrs.SET_COOKIE, line)
            changed |= stamps.pop(name, None) is not None
        if changed:
            session["s"] = stamps
            await storage.save_session(request, response, session)
