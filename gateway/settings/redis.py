"""`redis://` stores: GET a key (and `<key>:changed_at` and `<key>:message` when present).

The `redis` client comes with the `portal-gateway[redis]` extra and is imported when a source
is created, never when a config is checked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.config import SettingsConfig
from gateway.settings import Reading, SettingsUnavailable, parse_flag
from gateway.settings.document import message_text, parse_time
from gateway.settings.options import Driver, Option, Schema, text
from gateway.wire.values import mask_secrets, mask_url

if TYPE_CHECKING:
    import redis.asyncio as aioredis

# A Redis store may or may not hold `<key>:changed_at`, so the poller tells at its first read
# whether a restart would forget the last disable.
SCHEMA = Schema(
    options=(Option("key", "a Redis key", required=True),),
    drivers={"redis": Driver(("redis",), "redis")},
)


class RedisSource:
    """GET `key` (and `<key>:changed_at`, epoch seconds or ISO 8601, and `<key>:message`, staff's
    note for customers, when set) in one MGET: one round trip."""

    def __init__(self, cfg: SettingsConfig) -> None:
        import redis.asyncio as aioredis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
        from redis.exceptions import RedisError

        self.url = cfg.source
        self.description = mask_url(cfg.source)
        self.key = text(cfg, "key") or "customer_portal_enabled"
        self._errors: tuple[type[Exception], ...] = (RedisError, OSError, ValueError)
        # No client-side retries: the poller retries every TTL, and one read must stay
        # within its timeout.
        self.client: aioredis.Redis = aioredis.from_url(
            cfg.source,
            socket_timeout=cfg.timeout,
            socket_connect_timeout=cfg.timeout,
            retry=Retry(NoBackoff(), 0),
        )

    async def read(self) -> Reading:
        try:
            keys = [self.key, f"{self.key}:changed_at", f"{self.key}:message"]
            value, changed, note = await self.client.mget(keys)
        except self._errors as exc:
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
        return Reading(enabled, changed_at, message_text(note))

    async def aclose(self) -> None:
        await self.client.aclose()


def create(cfg: SettingsConfig) -> RedisSource:
    """The `redis://` source; the client connects lazily, at the first read."""
    return RedisSource(cfg)
