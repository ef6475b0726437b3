"""Shadow mode is loud: a WARNING once a minute for as long as it lasts.

One loop, shared by the proxy (gateway/edge/lifecycle.py) and the plugin: it asks the running
config each time, so a SIGHUP into or out of shadow mode starts or ends the reminders.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("gateway.shadow")

INTERVAL = 60.0
REMINDER = (
    "customer_portal.mode is shadow: staff's setting is NOT enforced; customers pass while it "
    "is off, counted as decision would_block"
)


async def remind(
    is_shadow: Callable[[], bool],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    interval: float = INTERVAL,
) -> None:
    """Log the reminder now (when in shadow mode) and every `interval` after; never returns."""
    while True:
        if is_shadow():
            log.warning("%s", REMINDER)
        await sleep(interval)
