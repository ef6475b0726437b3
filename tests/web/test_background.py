"""Endings: background tasks that are kept, waited for, and logged (never raised) when they fail."""

from __future__ import annotations

import asyncio
import logging

import pytest

from gateway.web.background import Endings

LOG = logging.getLogger("tests.endings")


async def test_wait_closed_waits_for_every_ending_and_those_they_start() -> None:
    endings = Endings(LOG, "ending a test exchange")
    done: list[str] = []
    release = asyncio.Event()

    async def second() -> None:
        done.append("second")

    async def first() -> None:
        await release.wait()
        endings.spawn(second())  # started by an ending: waited for too
        done.append("first")

    endings.spawn(first())
    waiter = asyncio.create_task(endings.wait_closed())
    await asyncio.sleep(0)
    assert not waiter.done()
    release.set()
    await asyncio.wait_for(waiter, 2)
    assert done == ["first", "second"]


async def test_a_failing_ending_is_logged_and_harms_no_other(
    caplog: pytest.LogCaptureFixture,
) -> None:
    endings = Endings(LOG, "ending a test exchange")
    done: list[str] = []

    async def broken() -> None:
        raise RuntimeError("peer gone")

    async def fine() -> None:
        done.append("fine")

    caplog.set_level(logging.ERROR, LOG.name)
    endings.spawn(broken())
    endings.spawn(fine())
    await endings.wait_closed()
    await asyncio.sleep(0)  # done callbacks run on the next turn
    assert done == ["fine"]
    assert [r.getMessage() for r in caplog.records] == ["ending a test exchange failed"]
    assert caplog.records[0].exc_info is not None


async def test_nothing_to_wait_for_returns_at_once() -> None:
    await asyncio.wait_for(Endings(LOG, "x").wait_closed(), 1)
