"""Small value parsers shared by the config loader and the CLI: durations, sizes, masking."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: object) -> float:
    """Seconds from 2, 2.5, "2s", "500ms", "1m", "2h", "1d"; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError
        return float(value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            return float(m.group(1)) * _UNITS[m.group(2)]
    raise ValueError


def parse_size(value: object) -> int:
    """Bytes from 1048576, "512k", "10m", "1g" (binary multiples, as nginx reads them)."""
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        if value < 0:
            raise ValueError
        return value
    if isinstance(value, str):
        m = _SIZE.match(value)
        if m:
            unit = (m.group(2) or "b")[0].lower()
            return int(m.group(1)) * {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit]
    raise ValueError


# Query parameters that carry credentials in DSNs and store URLs (libpq, redis-py, HTTP APIs).
_SECRET_PARAM = re.compile(
    r"([?&;](?:password|passwd|pwd|pass|secret|token|access_token|api_key|apikey|auth)=)"
    r"([^&;#]*)",
    re.IGNORECASE,
)
_AUTHORITY = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^/?#]*)(.*)$", re.DOTALL)


def _userinfo(url: str) -> tuple[str, str, str, str] | None:
    """(scheme://, userinfo, host[:port], rest) when the URL has a userinfo part."""
    m = _AUTHORITY.match(url)
    if m is None:
        return None
    prefix, netloc, rest = m.groups()
    userinfo, at, host = netloc.rpartition("@")  # a raw "@" in a password: the last one splits
    return (prefix, userinfo, host, rest) if at else None


def _lone_user_is_secret(prefix: str) -> bool:
    return prefix.lower().startswith(("http://", "https://"))


def url_secrets(url: str) -> list[str]:
    """The credentials a URL carries (password, password-like query values), as written and
    percent-decoded: what must never appear in a repr, a log line or an error message."""
    found: list[str] = []
    parts = _userinfo(url)
    if parts is not None:
        userinfo = parts[1]
        if ":" in userinfo:
            found.append(userinfo.split(":", 1)[1])
        elif _lone_user_is_secret(parts[0]):
            found.append(userinfo)
    found += [m.group(2) for m in _SECRET_PARAM.finditer(url)]
    out: list[str] = []
    for secret in found:
        for form in (secret, unquote(secret)):
            if form and form not in out:
                out.append(form)
    return out


def mask_url(url: str) -> str:
    """Hide a URL's credentials (`postgresql://app:secret@db/x` -> `app:***@db/x`, and
    `?password=...` -> `?password=***`). Never parses ports, so it never raises."""
    parts = _userinfo(url)
    if parts is not None:
        prefix, userinfo, host, rest = parts
        # Over HTTP a user name alone is usually a token (`https://TOKEN@host`); a database's
        # user name is not a secret and helps the reader.
        if ":" in userinfo:
            shown = f"{userinfo.split(':', 1)[0]}:***"
        else:
            shown = "***" if _lone_user_is_secret(prefix) else userinfo
        url = f"{prefix}{shown}@{host}{rest}"
    return _SECRET_PARAM.sub(lambda m: m.group(1) + "***", url)


def mask_secrets(text: str, *urls: str) -> str:
    """Replace any credential of the given URLs appearing in free text (driver errors)."""
    for url in urls:
        # Longest first: a secret that contains another is replaced whole.
        for secret in sorted(url_secrets(url), key=len, reverse=True):
            text = text.replace(secret, "***")
    return text


def safe_repr(record: Any, **masks: Callable[[Any], object]) -> str:
    """A dataclass repr with the named fields passed through a mask (fields with
    `repr=False` are left out, as dataclasses do)."""
    shown = []
    for item in fields(record):
        if item.repr:
            value = getattr(record, item.name)
            if item.name in masks:
                value = masks[item.name](value)
            shown.append(f"{item.name}={value!r}")
    return f"{type(record).__qualname__}({', '.join(shown)})"


def rfc3339(seconds: float | None) -> str | None:
    """Epoch seconds as RFC 3339 UTC to the millisecond (`2026-12-01T20:05:15.250Z`); None
    stays None (never known)."""
    if seconds is None:
        return None
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.isoformat(timespec="milliseconds").removesuffix("+00:00") + "Z"
