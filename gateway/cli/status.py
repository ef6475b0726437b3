"""`portal-gateway status --gateway URL`: what the running gateway believes, not the store.

`status --config FILE` reads the store; this asks a gateway's admin listener for its
`/state` (gateway/admin/state.py) and says it in the Office Portal's words, with the cause:
a store outage no longer reads like staff's switch.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from gateway.settings import STATUS_DISABLED, STATUS_ENABLED
from gateway.wire.values import mask_url

# Connecting and answering: a gateway answers /state from memory, at once.
TIMEOUT = 5.0


class Unreachable(Exception):
    """The gateway could not be asked, or did not answer its state; the message says why."""


def origin_of(url: str) -> str | None:
    """`url` without a trailing slash if it is an origin (http(s)://host[:port]), else None."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # a port that is no number raises ValueError
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    return url.rstrip("/")


def _why(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        errno = exc.os_error.errno
        return os.strerror(errno) if errno and errno > 0 else exc.os_error.strerror or str(exc)
    if isinstance(exc, TimeoutError):
        return f"no answer within {TIMEOUT:g}s"
    return str(exc) or type(exc).__name__


async def fetch_state(url: str) -> dict[str, Any]:
    """The JSON object at `url`; Unreachable when it cannot be had."""
    try:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, headers={"Accept": "application/json"}) as resp,
        ):
            if resp.status != 200:
                raise Unreachable(
                    f"{mask_url(url)} answered {resp.status}; is this the admin listener?"
                )
            document = await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise Unreachable(f"cannot reach the gateway at {mask_url(url)}: {_why(exc)}") from None
    except ValueError:
        raise Unreachable(
            f"{mask_url(url)} did not answer the gateway's state (not JSON)"
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("effective"), str):
        raise Unreachable(f"{mask_url(url)} did not answer the gateway's state")
    return document


def state_lines(document: dict[str, Any]) -> list[str]:
    """Line 1 the effective state in the Office Portal's words; line 2 the cause and what the
    store says; an `error:` line while the store's reads fail."""
    said = document.get("store_value")
    if said is None:
        store = "the store has not answered yet"
    else:
        changed = document.get("store_changed_at")
        store = f"store last said: {said}" + (f", changed {changed}" if changed else "")
    lines = [
        STATUS_ENABLED if document["effective"] == "enabled" else STATUS_DISABLED,
        f"cause: {document.get('cause')} ({store})",
    ]
    override = document.get("override")
    if isinstance(override, dict):
        lines.append(
            f"override: {override.get('action')} until {override.get('until')} "
            f"by {override.get('by')}: {override.get('reason')}"
        )
    if document.get("cause") == "schedule" and document.get("retry_at"):
        lines.append(f"schedule: a window is in force until {document['retry_at']}")
    if document.get("last_error"):
        lines.append(f"error: {document['last_error']}")
    return lines


def gateway_status(url: str, prefix: str) -> int:
    """Print the state of the gateway whose admin listener is at origin `url`: 0, or 1 with
    one line on stderr when it cannot be asked; 2 when `url` is no origin."""
    origin = origin_of(url)
    if origin is None:
        print(
            f"portal-gateway: --gateway: expected the admin listener's origin, such as "
            f"http://127.0.0.1:8082, got {mask_url(url)!r}",
            file=sys.stderr,
        )
        return 2
    try:
        document = asyncio.run(fetch_state(f"{origin}{prefix}/state"))
    except Unreachable as exc:
        print(f"portal-gateway: {exc}", file=sys.stderr)
        return 1
    for line in state_lines(document):
        print(line)
    return 0
