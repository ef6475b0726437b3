"""Staff preview links: signed tokens that let one browser see the customer side while it is off.

A token is `p1.<expires>.<generation>.<mac>`: the expiry (epoch seconds) and the preview
generation it was issued under, then an HMAC-SHA256 over both, base64url without padding. Every
character is URL- and cookie-safe, so the same text is the link's last segment and the value of
the `portal_gateway_preview` cookie. The MAC key is derived from `customer_portal.session_key`
under its own label, so neither a session stamp (a Fernet token under another derived key) nor
anything else the gateway signs can pass for a preview token, or the reverse.

Pure: no aiohttp, no I/O; the time and the current generation are handed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from typing import Literal

COOKIE = "portal_gateway_preview"
PATH = "/preview/"  # under the reserved prefix
_LABEL = b"portal-gateway preview link v1"
_TOKEN = re.compile(r"^p1\.([0-9]{1,12})\.([0-9]{1,9})\.([A-Za-z0-9_-]{43})$")

Verdict = Literal["valid", "expired", "revoked", "invalid"]


@dataclass(frozen=True)
class Checked:
    verdict: Verdict
    expires_at: float = 0.0

    @property
    def valid(self) -> bool:
        return self.verdict == "valid"


class PreviewCodec:
    """Issues and checks preview tokens under a key derived from the session key."""

    def __init__(self, session_key: bytes) -> None:
        # SECURITY: a key of its own (HMAC of a fixed label under the session key): the stamp
        # key is sha256("portal-gateway stamp " + key), so no stamp is a token or the reverse.
        self._key = hmac.new(session_key, _LABEL, hashlib.sha256).digest()

    def __repr__(self) -> str:  # never show the key
        return "PreviewCodec()"

    def _mac(self, payload: str) -> str:
        digest = hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def issue(self, expires_at: float, generation: int) -> str:
        if generation < 0:
            raise ValueError("generation must be >= 0")
        payload = f"p1.{int(expires_at)}.{generation}"
        return f"{payload}.{self._mac(payload)}"

    def check(self, token: str, now: float, generation: int) -> Checked:
        """`valid` only for a token this key signed, unexpired at `now`, of a generation not
        older than `generation` (links issued before a `preview-link --revoke-all` are revoked).
        """
        match = _TOKEN.match(token)
        if match is None:
            return Checked("invalid")
        expires, issued_under, mac = match.groups()
        payload = f"p1.{expires}.{issued_under}"
        # SECURITY: constant-time, and over the expiry and generation exactly as written: a
        # token cannot be extended (or un-revoked) without the key.
        if not hmac.compare_digest(mac.encode("ascii"), self._mac(payload).encode("ascii")):
            return Checked("invalid")
        expires_at = float(int(expires))
        if int(issued_under) < generation:
            return Checked("revoked", expires_at)
        if expires_at <= now:
            return Checked("expired", expires_at)
        return Checked("valid", expires_at)

    def first_valid(self, values: list[str], now: float, generation: int) -> Checked | None:
        """The verdict on the cookie values a browser sent: the first valid one, else the last
        verdict (None when none was sent)."""
        verdict: Checked | None = None
        for value in values:
            verdict = self.check(value.strip().strip('"'), now, generation)
            if verdict.valid:
                return verdict
        return verdict


def token_of(raw_path: str, prefix: str) -> str | None:
    """The token of `<prefix>/preview/<token>` (query ignored), written exactly so; else None."""
    path = raw_path.partition("?")[0]
    head = prefix + PATH
    if not path.startswith(head):
        return None
    token = path[len(head) :]
    return token if token and "/" not in token and "%" not in token else None


def link(base_url: str, prefix: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{prefix}{PATH}{token}"


def set_cookie(token: str, expires_at: float, now: float, secure: bool) -> str:
    """The cookie a preview link sets: the token, expiring with it."""
    max_age = max(0, int(expires_at - now))
    expires = time.strftime("%a, %d-%b-%Y %H:%M:%S GMT", time.gmtime(expires_at))
    line = f"{COOKIE}={token}; Max-Age={max_age}; Expires={expires}; Path=/; HttpOnly; SameSite=Lax"
    return line + "; Secure" if secure else line
