"""The redis:// source against the real Redis (tests/services.py); one unique key per test."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from gateway.config import SettingsConfig
from gateway.settings import Reading, SettingsUnavailable, make_source
from tests.services import REDIS_URL, require

pytestmark = pytest.mark.services


@pytest.fixture
async def client() -> AsyncIterator[aioredis.Redis]:
    redis = aioredis.from_url(require("Redis", REDIS_URL))
    try:
        yield redis
    finally:
        await redis.aclose()


@pytest.fixture
async def key(client: aioredis.Redis) -> AsyncIterator[str]:
    name = f"portal-gateway-test:{uuid.uuid4().hex}"
    try:
        yield name
    finally:
        await client.delete(name, f"{name}:changed_at", f"{name}:message")


async def read(key: str) -> Reading:
    source = make_source(SettingsConfig(source=REDIS_URL, options={"key": key}))
    try:
        return await source.read()
    finally:
        await source.aclose()


async def test_a_missing_key_is_a_read_error(key: str) -> None:
    with pytest.raises(SettingsUnavailable, match=rf"^{REDIS_URL}: key '{key}' is not set$"):
        await read(key)


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        (None, None),
        ("1700000000", 1_700_000_000.0),
        ("1700000000.25", 1_700_000_000.25),
        ("2023-11-14T22:13:20Z", 1_700_000_000.0),
    ],
)
async def test_the_change_time_key_is_optional(
    client: aioredis.Redis, key: str, stamp: str | None, expected: float | None
) -> None:
    await client.set(key, " OFF ")
    if stamp is not None:
        await client.set(f"{key}:changed_at", stamp)
    assert await read(key) == Reading(False, expected)


async def test_a_bad_change_time_is_a_read_error(client: aioredis.Redis, key: str) -> None:
    await client.set(key, "on")
    await client.set(f"{key}:changed_at", "last tuesday")
    with pytest.raises(SettingsUnavailable, match="is not a timestamp"):
        await read(key)


@pytest.mark.parametrize(
    ("stamp", "why"),
    [
        ("nan", "nan is not a finite number"),
        ("inf", "inf is not a finite number"),
        ("-1", "-1.0 is before 1970"),
        ("1e300", "1e+300 is beyond the year 9999"),
        ("4102444800", "4102444800.0 is more than a day ahead of this clock"),  # 2100
        (b"\xff", "'\ufffd' is not a timestamp"),
    ],
)
async def test_a_change_time_that_cannot_date_a_disable_is_a_read_error(
    client: aioredis.Redis, key: str, stamp: str | bytes, why: str
) -> None:
    await client.set(key, "off")
    await client.set(f"{key}:changed_at", stamp)
    with pytest.raises(SettingsUnavailable, match=rf"^{REDIS_URL}: change time {re.escape(why)}$"):
        await read(key)


@pytest.mark.parametrize("value", [b"\xff\xfe", b"yes please", b"[1]"])
async def test_bytes_that_are_not_a_flag_are_read_errors(
    client: aioredis.Redis, key: str, value: bytes
) -> None:
    await client.set(key, value)
    with pytest.raises(SettingsUnavailable):
        await read(key)


async def test_a_key_of_the_wrong_type_is_a_read_error(client: aioredis.Redis, key: str) -> None:
    await client.hset(key, "enabled", "1")
    with pytest.raises(SettingsUnavailable):  # MGET skips non-strings: "not set"
        await read(key)


async def test_a_wrong_password_is_masked(key: str) -> None:
    url = REDIS_URL.replace("redis://", "redis://:s3cret@", 1)
    source = make_source(SettingsConfig(source=url, options={"key": key}))
    try:
        assert "s3cret" not in source.description
        with pytest.raises(SettingsUnavailable) as info:
            await source.read()
    finally:
        await source.aclose()
    assert "s3cret" not in str(info.value)


async def test_the_message_key_is_read_in_the_same_round_trip(
    client: aioredis.Redis, key: str
) -> None:
    await client.set(key, "off")
    assert (await read(key)).message is None
    await client.set(f"{key}:message", b"Back  after the\nbilling run")
    assert await read(key) == Reading(False, None, "Back after the billing run")
    await client.set(f"{key}:message", b"\xff\xfe")  # not UTF-8: no note, the flag still counts
    assert await read(key) == Reading(False, None, None)
