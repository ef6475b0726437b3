"""`http(s)://` stores: GET a JSON document and read a dotted field from it."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from gateway.config import SettingsConfig
from gateway.settings import Reading, SettingsUnavailable
from gateway.settings.document import DOCUMENT_SCHEMA, reading_from_document
from gateway.settings.options import text
from gateway.wire.values import mask_secrets, mask_url

# A settings document is a few hundred bytes; a store answering megabytes is broken, and the
# poller must not buffer whatever it is sent.
MAX_BODY = 1024 * 1024

SCHEMA = DOCUMENT_SCHEMA


class HttpSource:
    """GET the URL with one long-lived session: 2xx and a JSON body, or a read error.

    No cookie jar, no redirects, no proxy from the environment: the answer comes from the
    configured URL or not at all.
    """

    def __init__(self, cfg: SettingsConfig) -> None:
        self.url = cfg.source
        self.description = mask_url(cfg.source)
        self.field = text(cfg, "field", "enabled") or "enabled"
        self.changed_at_field = text(cfg, "changed_at_field")
        self.message_field = text(cfg, "message_field")
        self.timeout = cfg.timeout
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                headers={"Accept": "application/json"},
                trust_env=False,
            )
        return self._session

    async def _fetch(self) -> bytes:
        async with self._client().get(self.url, allow_redirects=False) as resp:
            # SECURITY: an error page, a redirect to a login page or an empty 204 is never a
            # value; only a 2xx with a JSON body below is.
            if not 200 <= resp.status < 300:
                raise SettingsUnavailable(f"{self.description}: HTTP {resp.status}")
            if (resp.content_length or 0) > MAX_BODY:
                raise SettingsUnavailable(
                    f"{self.description}: answer larger than {MAX_BODY} bytes"
                )
            body = bytearray()
            async for chunk in resp.content.iter_chunked(65536):
                body += chunk
                if len(body) > MAX_BODY:
                    raise SettingsUnavailable(
                        f"{self.description}: answer larger than {MAX_BODY} bytes"
                    )
            return bytes(body)

    async def read(self) -> Reading:
        try:
            raw = await self._fetch()
        except SettingsUnavailable:
            raise
        except TimeoutError:
            raise SettingsUnavailable(
                f"{self.description}: no answer within {self.timeout:g}s"
            ) from None
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            why = mask_secrets(str(exc) or type(exc).__name__, self.url)
            raise SettingsUnavailable(f"{self.description}: {why}") from None
        try:
            document: Any = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise SettingsUnavailable(f"{self.description}: the answer is not JSON") from None
        return reading_from_document(
            document, self.field, self.changed_at_field, self.description, self.message_field
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def create(cfg: SettingsConfig) -> HttpSource:
    """The `http://` / `https://` source; the session is opened at the first read."""
    return HttpSource(cfg)
