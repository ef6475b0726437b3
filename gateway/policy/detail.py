"""The unavailable answer's detail: staff's note and when the portal is expected back. Pure.

The HTML page gets the note and the return time at `<!--portal-gateway:detail-->` or, in a
page without the marker, right after the element that holds the sentence; both HTML-escaped.
JSON answers get `message_detail` and `retry_at` (RFC 3339 UTC). The disabled path is hot, so
each text is built once per (page, sentence, note, return time) and reused: only Retry-After
and the cookie expiries are per request.
"""

from __future__ import annotations

import html
import json
import math
import re
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache

from gateway.config import UNAVAILABLE_MESSAGE

MARKER = "<!--portal-gateway:detail-->"
# Distinct notes and return times a process sees are few (a store note, a schedule, an
# override); the bound only keeps a store that changes its note every poll from growing it.
CACHE_SIZE = 256
_CLOSING_TAG = re.compile(r"</[A-Za-z][A-Za-z0-9-]*\s*>")
_BODY = re.compile(r"<body[\s>]", re.IGNORECASE)
_TITLE_END = re.compile(r"</title\s*>", re.IGNORECASE)


# Epoch seconds a calendar shows: 1970 to the end of year 9999.
_LAST_SHOWN = 253_402_300_800.0


def known_return(retry_at: float | None) -> float | None:
    """`retry_at` when it is a moment the page can show, else None (no return time).

    SECURITY: the page answers a refusal; a return time past the calendar (infinity, NaN,
    year 10000) must not turn it into a 500: it is shown as no return time at all.
    """
    if retry_at is None or not 0.0 <= retry_at < _LAST_SHOWN:  # NaN compares false
        return None
    return retry_at


def rfc3339_utc(epoch: float) -> str:
    """`2026-12-01T23:00:00Z` (whole seconds)."""
    return datetime.fromtimestamp(math.floor(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def return_time(epoch: float, offset: timedelta | None = None) -> tuple[str, str]:
    """(machine form with offset, words) of a return time, in `offset` (default UTC)."""
    zone = UTC if offset is None or not offset else timezone(offset)
    moment = datetime.fromtimestamp(math.floor(epoch), zone)
    shown = "UTC" if zone is UTC else moment.strftime("%z")
    if shown != "UTC":
        shown = f"{shown[:3]}:{shown[3:]}"
    return moment.isoformat(), f"{moment:%Y-%m-%d %H:%M} {shown}"


def detail_html(message: str | None, retry_at: float | None, offset: timedelta | None) -> str:
    """The detail block, escaped; "" when there is neither a note nor a return time."""
    parts = []
    if message:
        # SECURITY: staff's note comes from the store or the command line: text, never markup.
        parts.append(f'<p class="portal-gateway-message">{html.escape(message)}</p>')
    if retry_at is not None:
        machine, words = return_time(retry_at, offset)
        parts.append(
            '<p class="portal-gateway-retry">Expected back at '
            f'<time datetime="{html.escape(machine)}">{html.escape(words)}</time>.</p>'
        )
    return "".join(parts)


def place_detail(page: str, sentence: str, detail: str) -> str:
    """`page` with `detail` at the marker, else after the element holding `sentence`."""
    if MARKER in page:
        return page.replace(MARKER, detail)
    if not detail:
        return page
    # In the body: a page whose <title> repeats the sentence gets its detail under the text,
    # <body> written or not (its tags are optional in HTML).
    body = _BODY.search(page) or _TITLE_END.search(page)
    at = page.find(sentence, body.end() if body is not None else 0)
    if at < 0:
        at = page.find(sentence)
    if at < 0:  # checked at start; a page without it still gets its detail, at the end
        return page + detail
    end = at + len(sentence)
    closing = _CLOSING_TAG.search(page, end)
    cut = closing.end() if closing is not None else end
    return page[:cut] + detail + page[cut:]


@lru_cache(maxsize=CACHE_SIZE)
def render_page(
    page: str,
    sentence: str,
    message: str | None,
    retry_at: float | None,
    offset: timedelta | None = None,
) -> str:
    """The page as sent, built once per distinct arguments (str hashes are cached by Python,
    so a key holding the whole page costs its length once)."""
    return place_detail(page, sentence, detail_html(message, retry_at, offset))


@lru_cache(maxsize=CACHE_SIZE)
def render_json(message: str | None, retry_at: float | None) -> str:
    """`{"error", "message"}`, plus `message_detail` and `retry_at` when known."""
    body: dict[str, str] = {"error": "customer_portal_unavailable", "message": UNAVAILABLE_MESSAGE}
    if message:
        body["message_detail"] = message
    if retry_at is not None:
        body["retry_at"] = rfc3339_utc(retry_at)
    return json.dumps(body)


def retry_after(retry_at: float | None, now: float, default: int) -> int:
    """Whole seconds until `retry_at` (at least 1, never early), else the configured default."""
    if known_return(retry_at) is None:
        return default
    assert retry_at is not None
    return max(1, math.ceil(retry_at - now))
