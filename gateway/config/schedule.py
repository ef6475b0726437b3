"""`customer_portal.schedule`: windows in which the portal is off whatever the store says.

    schedule:
      - from: 2026-12-24T18:00:00+01:00
        to: 2026-12-27T08:00:00+01:00
        message: Closed over the holidays

Each time must carry its UTC offset (or `Z`): a naive time means something else on every host
and after every daylight-saving change, so it is an error, as are a window whose `to` is not
after its `from` and two windows that overlap (each `FILE:LINE: key: message`).
"""

from __future__ import annotations

import itertools
from datetime import date, datetime

from gateway.config.schema import Window, yaml_keys
from gateway.config.yamlnodes import Node, Reader, as_str, check_keys

EXPECTED = "an ISO-8601 time with an offset or Z (2026-12-24T18:00:00+01:00)"


def parse_moment(value: object) -> datetime:
    """An aware datetime from YAML's own timestamp or an ISO-8601 string; ValueError for a
    naive time, a bare date or anything else."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip())
    if not isinstance(value, datetime):
        # A bare date (2026-12-24) is a date, not a datetime: when would the window start?
        raise ValueError("not a time") if isinstance(value, date) else TypeError
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("no offset")
    return value


def _moment(r: Reader, name: str, key: str) -> datetime | None:
    child = r.at(name)
    if child is None or child.value is None:
        r.errors.add(r.node, f"{key}.{name}", f"required ({EXPECTED})")
        return None
    try:
        return parse_moment(child.value)
    except (ValueError, TypeError):
        shown = child.value.isoformat() if isinstance(child.value, date) else child.value
        r.errors.add(child, f"{key}.{name}", f"expected {EXPECTED}, got {shown!r}")
        return None


def _window(item: Node, key: str, r: Reader) -> Window | None:
    if not isinstance(item.value, dict):
        r.errors.add(item, key, f"expected a mapping with from, to and message, got {item.value!r}")
        return None
    check_keys(item, yaml_keys(Window), key, r.errors)
    entry = Reader(item, key, r.errors)
    starts, ends = _moment(entry, "from", key), _moment(entry, "to", key)
    message = entry.get("message", as_str, None, "text")
    if starts is None or ends is None:
        return None
    if ends <= starts:
        r.errors.add(
            entry.at("to"), f"{key}.to", f"must be after from ({starts.isoformat()}): inverted"
        )
        return None
    offset = ends.utcoffset()
    return Window(
        starts=starts.timestamp(),
        ends=ends.timestamp(),
        message=message or None,
        offset=int(offset.total_seconds()) if offset is not None else 0,
        line=item.line,
    )


def parse_schedule(r: Reader) -> tuple[Window, ...]:
    """The windows, sorted by start; located errors for every bad or overlapping one."""
    child = r.at("schedule")
    key = r.key("schedule")
    if child is None or child.value is None:
        return ()
    if not isinstance(child.value, list):
        r.errors.add(
            child, key, f"expected a list of windows (from, to, message), got {child.value!r}"
        )
        return ()
    windows = [
        w
        for i, item in enumerate(child.value)
        if (w := _window(item, f"{key}[{i}]", r)) is not None
    ]
    windows.sort(key=lambda w: (w.starts, w.line))
    for before, after in itertools.pairwise(windows):
        if after.starts < before.ends:
            index = next(i for i, item in enumerate(child.value) if item.line == after.line)
            r.errors.add(
                Node(None, after.line),
                f"{key}[{index}]",
                f"overlaps the window on line {before.line}",
            )
    return tuple(windows)
