"""Session stamps: the gateway's own record of when it saw each customer session begin.

The upstream's session cookie is opaque, so the gateway keeps, in one encrypted cookie of its
own (default `portal_gateway_stamp`), a keyed hash of each session value it has seen and the
time the exchange that set or first carried it began. The cookie is a Fernet token over JSON in
aiohttp-session's EncryptedCookieStorage layout (`{"created": ..., "session": {...}}`), so a
portal using aiohttp-session with the same key can read it. The session part holds:

  s  {name: {"h": hash of name=value, "t": time}}  values bound to a time
  i  when this stamp was issued (the start of the request that issued it)
  x  hashes of values already judged stale (bounded), so they stay stale after a new login

A carried session value is fresh when no disable has been seen, or when it is bound with a time
after the last disable, or when it is not bound and the stamp itself was issued after the last
disable (it began since; it is bound now). Anything else is stale: withheld from the upstream
and, unless it is a shared staff/customer cookie, expired in the browser.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

STAMP_MAX_AGE = 400 * 24 * 3600  # the longest lifetime browsers grant a cookie
MAX_STALE_HASHES = 16


@dataclass
class Stamp:
    """The decoded stamp cookie; `issued_at` None when the browser carried no valid stamp."""

    bound: dict[str, dict[str, Any]] = field(default_factory=dict)
    issued_at: float | None = None
    stale: list[str] = field(default_factory=list)

    def entry_time(self, name: str, digest: str) -> float | None:
        entry = self.bound.get(name)
        if not isinstance(entry, dict) or not isinstance(entry.get("t"), int | float):
            return None
        if not hmac.compare_digest(str(entry.get("h", "")), digest):
            return None
        return float(entry["t"])


@dataclass(frozen=True)
class StampPlan:
    """What the response phase needs to re-stamp: decided at request time, applied later."""

    stamp: Stamp
    changed: bool  # the stamp must be re-issued even if the answer sets no session
    stale: tuple[str, ...]  # raw names judged stale: expired unless the answer sets them
    shared_stale: tuple[str, ...]  # stale shared cookies: withheld, never expired
    started_at: float
    secure: bool
    portal: str  # "customer" or "office": office answers only bind shared cookies
    # Let in while disabled (preview link, staff network): a login it answers is kept (see
    # Gate.respond()).
    admitted_while_disabled: bool = False
    gone: tuple[str, ...] = ()  # Set-Cookie lines always added (a dead preview cookie's expiry)


class StampCodec:
    """Encrypts, decrypts and hashes with a key derived from the configured session key."""

    def __init__(self, key: bytes, cookie_name: str) -> None:
        self._key = hashlib.sha256(b"portal-gateway stamp " + key).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(self._key))
        self.cookie_name = cookie_name
        # secure -> (issued_at, Set-Cookie line) of the last stamp minted with nothing in it.
        self._blank: dict[bool, tuple[float, str]] = {}

    def __repr__(self) -> str:  # never show the key
        return f"StampCodec(cookie={self.cookie_name!r})"

    def digest(self, name: str, value: str) -> str:
        # Binds a stamp to one session value: a stamp copied beside another session never matches.
        return hmac.new(self._key, f"{name}={value}".encode(), hashlib.sha256).hexdigest()[:32]

    def load(self, values: Sequence[str], now: float) -> Stamp:
        """The first stamp among `values` that decrypts; an empty Stamp when none does."""
        for value in values:
            try:
                raw = self._fernet.decrypt_at_time(value.encode(), STAMP_MAX_AGE, int(now))
                data = json.loads(raw)
            except (InvalidToken, ValueError, UnicodeError):
                continue
            session = data.get("session") if isinstance(data, dict) else None
            if not isinstance(session, dict):
                continue
            bound = session.get("s")
            issued = session.get("i")
            stale = session.get("x")
            return Stamp(
                bound=dict(bound) if isinstance(bound, dict) else {},
                # A stamp written before issue times existed counts as issued at its creation
                # time only for its bound values; unlisted values under it are stale.
                issued_at=float(issued) if isinstance(issued, int | float) else float("-inf"),
                stale=[h for h in stale if isinstance(h, str)] if isinstance(stale, list) else [],
            )
        return Stamp()

    def dump(self, stamp: Stamp, now: float) -> str:
        session: dict[str, Any] = {"s": stamp.bound}
        if stamp.issued_at is not None and stamp.issued_at != float("-inf"):
            # Only forward-auth issues stamps without seeing the answer; only its stamps say
            # when they were issued, and so only they let an unbound value in (see judge()).
            session["i"] = stamp.issued_at
        if stamp.stale:
            session["x"] = stamp.stale[-MAX_STALE_HASHES:]
        payload = json.dumps({"created": int(now), "session": session}, separators=(",", ":"))
        return self._fernet.encrypt_at_time(payload.encode(), int(now)).decode()

    def set_cookie(self, stamp: Stamp, now: float, secure: bool) -> str:
        value = self.dump(stamp, now)
        expires = time.strftime("%a, %d-%b-%Y %H:%M:%S GMT", time.gmtime(now + STAMP_MAX_AGE))
        line = (
            f"{self.cookie_name}={value}; Max-Age={STAMP_MAX_AGE}; Expires={expires}; "
            "Path=/; HttpOnly; SameSite=Lax"
        )
        return line + "; Secure" if secure else line

    def issue(self, stamp: Stamp, now: float, secure: bool, last_disabled_at: float | None) -> str:
        """The Set-Cookie line for a stamp forward-auth issues at `now` (`stamp.issued_at`).

        A stamp with nothing of the browser's in it (no bound value, no stale hash) is the same
        for every browser but its issue time: the one minted less than a second ago is reused
        (and `stamp.issued_at` set to its time), one Fernet encryption per second and flag
        instead of one per cookie-less request.
        """
        if stamp.bound or stamp.stale or stamp.issued_at != now:
            return self.set_cookie(stamp, now, secure)
        blank = self._blank.get(secure)
        # SECURITY: the reused stamp says it was issued up to a second before this request
        # began, never after. judge() only lets an earlier issue time turn a value stale, never
        # fresh; and it is never one issued at or before the last disable, which the gate would
        # replace on the next request (a login answered in between would look old).
        if (
            blank is not None
            and 0.0 <= now - blank[0] < 1.0
            and (last_disabled_at is None or blank[0] > last_disabled_at)
        ):
            stamp.issued_at = blank[0]
            return blank[1]
        line = self.set_cookie(stamp, now, secure)
        self._blank[secure] = (now, line)
        return line


def is_deletion(set_cookie: str, now: float) -> bool:
    """True when a Set-Cookie line deletes its cookie (empty value, Max-Age<=0, past Expires)."""
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


def judge(
    codec: StampCodec,
    stamp: Stamp,
    carried: Iterable[tuple[str, str]],
    last_disabled_at: float | None,
) -> tuple[list[str], bool]:
    """(stale raw names, stamp changed): binds fresh unbound values into `stamp` in place."""
    stale: list[str] = []
    changed = False
    for name, value in carried:
        digest = codec.digest(name, value)
        bound_at = stamp.entry_time(name, digest)
        if last_disabled_at is None:
            fresh = digest not in stamp.stale
        elif digest in stamp.stale:
            fresh = False
        elif bound_at is not None:
            fresh = bound_at > last_disabled_at
        else:
            # SECURITY: an unbound value is fresh only under a valid stamp issued after the last
            # disable: the browser held that stamp before the value existed, so it began since.
            fresh = stamp.issued_at is not None and stamp.issued_at > last_disabled_at
        if not fresh:
            if name not in stale:
                stale.append(name)
            if digest not in stamp.stale:
                stamp.stale.append(digest)
                changed = True
            continue
        if bound_at is None:
            # Bound at the earliest time it can have begun: the issue of the stamp it appeared
            # under (never "now": a disable not yet observed may lie between).
            issued = stamp.issued_at
            stamp.bound[name] = {
                "h": digest,
                "t": issued if issued not in (None, float("-inf")) else 0.0,
            }
            changed = True
    return stale, changed
