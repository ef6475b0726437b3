"""Reading the setting out of a JSON or YAML document (http:// and file:// stores)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.settings import Reading, SettingsUnavailable, parse_flag


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
    """Epoch seconds from a number, or an ISO 8601 timestamp (naive = UTC)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
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
    return moment.timestamp()


def reading_from_document(
    document: Any, field: str, changed_at_field: str | None, where: str
) -> Reading:
    enabled = parse_flag(lookup(document, field, where), f"{where}: {field}")
    changed_at = None
    if changed_at_field:
        changed_at = parse_time(lookup(document, changed_at_field, where), where)
    return Reading(enabled, changed_at)
