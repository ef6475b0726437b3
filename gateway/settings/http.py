"""`http(s)://` stores: GET a JSON document and read a dotted field from it."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from gateway.config import SettingsConfig
from gateway.settings import Reading, SettingsUnavailable
from gateway.settings.document import reading_from_document
from gateway.values import mask_secrets, mask_url


class HttpSource:
    def __init__(self, cfg: SettingsConfig) -> None:
        self.url = cfg.source
        self.description = mask_url(cfg.source)
        self.field = cfg.field or "enabled"
        self.changed_at_field = cfg.changed_at_field
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

    async def read(self) -> Reading:
        try:
            async with self._client().get(self.url, allow_redirects=False) as resp:
                if resp.status != 200:
                    raise SettingsUnavailable(f"{self.description}: HTTP {resp.status}")
                raw = await resp.read()
        except SettingsUnavailable:
            raise
        except TimeoutError:
            raise SettingsUnavailable(
                f"{self.description}: no answer within {self.timeout:g}s"
            ) from None
        except aiohttp.ClientError as exc:
            why = mask_secrets(str(exc) or type(exc).__name__, self.url)
            raise SettingsUnavailable(f"{self.description}: {why}") from None
        try:
            document: Any = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise SettingsUnavailable(f"{self.description}: the answer is not JSON") from None
        return reading_from_document(document, self.field, self.changed_at_field, self.description)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


def create(cfg: SettingsConfig) -> HttpSource:
    return HttpSource(cfg)
