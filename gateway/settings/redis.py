"""`redis://` stores: GET a key (and `<key>:changed_at` when present)."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from gateway.config import SettingsConfig
from gateway.settings import Reading, SettingsUnavailable, parse_flag
from gateway.settings.document import parse_time
from gateway.wire.values import mask_secrets, mask_url


class RedisSource:
    """GET `key` (and `<key>:changed_at`, epoch seconds or ISO 8601, when set) in one MGET."""

    def __init__(self, cfg: SettingsConfig) -> None:
        self.url = cfg.source
        self.description = mask_url(cfg.source)
        self.key = cfg.key or "customer_portal_enabled"
        # No client-side retries: the poller retries every TTL, and one read must stay
        # within its timeout.
        self.client = aioredis.from_url(
            cfg.source,
            socket_timeout=cfg.timeout,
            socket_connect_timeout=cfg.timeout,
            retry=Retry(NoBackoff(), 0),
        )

    async def read(self) -> Reading:
        try:
            value, changed = await self.client.mget([self.key, f"{self.key}:changed_at"])
        except (RedisError, OSError, ValueError) as exc:
            # SECURITY: never show the password, whatever the client quotes.
            why = mask_secrets(str(exc) or type(exc).__name__, self.url)
            raise SettingsUnavailable(f"{self.description}: {why}") from None
        if value is None:
            raise SettingsUnavailable(f"{self.description}: key {self.key!r} is not set")
        enabled = parse_flag(value, self.description)
        changed_at = None
        if changed is not None:
            stamp = changed.decode(errors="replace") if isinstance(changed, bytes) else str(changed)
            try:
                number = float(stamp)  # "nan" and "inf" parse: parse_time refuses them
            except ValueError:
                changed_at = parse_time(stamp, self.description)
            else:
                changed_at = parse_time(number, self.description)
        return Reading(enabled, changed_at)

    async def aclose(self) -> None:
        await self.client.aclose()


def create(cfg: SettingsConfig) -> RedisSource:
    """The `redis://` source; the client connects lazily, at the first read."""
    return RedisSource(cfg)
