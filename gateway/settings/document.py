"""Reading the setting out of a JSON or YAML document (http:// and file:// stores)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from gateway.settings import Reading, SettingsUnavailable, check_change_time, parse_flag
from gateway.settings.options import Option, Schema, forgets_without_change_time

# The options of every store that holds a document (http://, file://): where the flag, its
# change time and the note for customers are in it.
DOCUMENT_SCHEMA = Schema(
    options=(
        Option("field", "a dotted field name", required=True, example=" (e.g. enabled)"),
        Option("changed_at_field", "a dotted field name"),
        Option("message_field", "a dotted field name"),
    ),
    forgets=forgets_without_change_time,
)


def lookup(document: Any, dotted: str, where: str) -> Any:
    value = document
    for part in dotted.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise SettingsUnavailable(f"{where}: field {dotted!r} not found")
    return value


def parse_time(value: object, where: str) -> float:
    """Epoch seconds from a number (int, float, Decimal), or an ISO 8601 timestamp (naive =
    UTC); anything that cannot date a change (NaN, infinity, before 1970, past 9999, more
    than a day ahead) is SettingsUnavailable (see `check_change_time`)."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except (OverflowError, ValueError):  # 10**400; Decimal("sNaN")
            seconds = math.nan
        return check_change_time(seconds, where, shown=value)
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise SettingsUnavailable(
                f"{where}: change time {value!r} is not a timestamp"
            ) from None
    else:
        raise SettingsUnavailable(f"{where}: change time {value!r} is not a timestamp")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    shown = value.isoformat() if isinstance(value, datetime) else value
    return check_change_time(moment.timestamp(), where, shown=shown)


# Staff's note is a sentence or two under the page's sentence, never a page of its own.
MAX_MESSAGE = 500
# How much of a note is looked at: whitespace runs collapse, so more than MAX_MESSAGE, but a
# bound, since the read runs on the event loop and a store's text column has none.
_SCANNED = 64 * MAX_MESSAGE


def message_text(value: object) -> str | None:
    """Staff's note as the page shows it: text (bytes as UTF-8), whitespace runs and control
    characters made single spaces, at most MAX_MESSAGE characters; None for no note.

    SECURITY: anything that is not text (a number, a list, bytes that are not UTF-8) is no note
    rather than a read error: a broken note must never turn a good read of the switch into a
    read error, which `on_error: enabled` would serve as enabled.
    """
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not isinstance(value, str):
        return None
    cut = len(value) > _SCANNED
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in value[:_SCANNED]).split())
    if len(text) > MAX_MESSAGE or (cut and text):
        text = text[: MAX_MESSAGE - 1].rstrip() + "\u2026"
    return text or None


def optional_lookup(document: Any, dotted: str) -> Any:
    """The field's value, or None when the document has no such field."""
    try:
        return lookup(document, dotted, "")
    except SettingsUnavailable:
        return None


def reading_from_document(
    document: Any,
    field: str,
    changed_at_field: str | None,
    where: str,
    message_field: str | None = None,
) -> Reading:
    enabled = parse_flag(lookup(document, field, where), f"{where}: {field}")
    changed_at = None
    if changed_at_field:
        changed_at = parse_time(lookup(document, changed_at_field, where), where)
    message = message_text(optional_lookup(document, message_field)) if message_field else None
    return Reading(enabled, changed_at, message)
