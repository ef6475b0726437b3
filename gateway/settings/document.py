"""Reading the setting out of a JSON or YAML document (http:// and file:// stores)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from gateway.settings import Reading, SettingsUnavailable, check_change_time, parse_flag


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


def reading_from_document(
    document: Any, field: str, changed_at_field: str | None, where: str
) -> Reading:
    enabled = parse_flag(lookup(document, field, where), f"{where}: {field}")
    changed_at = None
    if changed_at_field:
        changed_at = parse_time(lookup(document, changed_at_field, where), where)
    return Reading(enabled, changed_at)
