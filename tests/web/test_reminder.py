"""Shadow mode's reminder: a WARNING at once and every interval, only while in shadow mode."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from gateway.web.reminder import INTERVAL, REMINDER, remind


async def test_a_warning_each_interval_while_shadow_lasts(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "gateway.shadow")
    modes = iter([True, True, False, True])
    slept: list[float] = []
    done = asyncio.Event()

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 4:
            done.set()
            await asyncio.Event().wait()  # the loop's end: cancelled below

    task = asyncio.create_task(remind(lambda: next(modes), sleep))
    await done.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert slept == [INTERVAL] * 4
    warnings = [r for r in caplog.records if r.name == "gateway.shadow"]
    assert [r.getMessage() for r in warnings] == [REMINDER] * 3
    assert all(r.levelno == logging.WARNING for r in warnings)
    assert "NOT enforced" in REMINDER and INTERVAL == 60.0
