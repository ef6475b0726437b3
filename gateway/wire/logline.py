"""Access-log lines as bytes: one JSON object or one readable text line, never longer than
PIPE_BUF.

Every value a client chose (path, user agent, a trusted proxy's request id) is escaped to
printable ASCII and capped in length *after* escaping, so a line is one `write()` of at most
`LINE_MAX` bytes: the kernel writes that atomically to a pipe, and lines from several workers
sharing one stderr never interleave. Pure: no I/O, no clock.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import unquote

# POSIX guarantees atomic pipe writes up to PIPE_BUF, 4096 bytes on Linux; the caps below keep
# every line under it (tests/wire/test_logline.py builds the worst case).
LINE_MAX = 4096
TRUNCATED = "..."

CAPS = {
    "request_id": 128,
    "client": 64,
    "method": 32,
    "path": 2048,
    "route": 64,
    "portal": 16,
    "decision": 32,
    "reason": 64,
    "user_agent": 512,
}


class AccessEntry(NamedTuple):
    """The facts of one exchange, as the request path leaves them (formatted later)."""

    ts: float  # wall clock when the request arrived
    request_id: str
    client: str
    method: str
    path: str  # already without its query (unless log_query) and with a preview token masked
    route: str
    portal: str
    decision: str
    reason: str
    status: int
    bytes: int
    upstream_seconds: float | None
    duration: float
    user_agent: str | None
    worker: int


_second: list[tuple[int, str]] = [(-1, "")]
# `.000Z` to `.999Z`: the milliseconds are looked up, not formatted, for every line.
_MILLIS = tuple(f".{ms:03d}Z" for ms in range(1000))


def rfc3339(ts: float) -> str:
    """UTC, milliseconds, `Z`: 2026-12-01T20:05:15.123Z."""
    whole, millis = divmod(int(ts * 1000), 1000)
    # Lines come in bursts within one second: its text is computed once.
    seen, text = _second[0]
    if seen != whole:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
        _second[0] = (whole, text)
    return text + _MILLIS[millis]


def _json_char(ch: str) -> str:
    if ch == "\x7f":  # JSON allows a raw DEL; a terminal showing the log should not get one
        return "\\u007f"
    return json.dumps(ch)[1:-1]


def _text_char(ch: str) -> str:
    if ch in '"\\':
        return "\\" + ch
    if " " <= ch < "\x7f":
        return ch
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _plain(value: str) -> bool:
    """Printable ASCII without quote or backslash: its own escape in both formats."""
    return value.isascii() and value.isprintable() and '"' not in value and "\\" not in value


def capped(value: str, limit: int, escape: Callable[[str], str]) -> str:
    """`value` escaped, cut to at most `limit` characters (ASCII, so bytes), never mid-escape."""
    if len(value) <= limit and _plain(value):
        return value
    pieces = [escape(ch) for ch in value]
    if sum(map(len, pieces)) <= limit:
        return "".join(pieces)
    out, size = [], len(TRUNCATED)
    for piece in pieces:
        if size + len(piece) > limit:
            break
        out.append(piece)
        size += len(piece)
    return "".join(out) + TRUNCATED


def _seconds(value: float) -> str:
    return f"{value:.6f}"


_REQUEST_ID, _CLIENT, _METHOD, _PATH, _ROUTE, _PORTAL, _DECISION, _REASON, _AGENT = (
    CAPS[name] for name in (*AccessEntry._fields[1:9], "user_agent")
)


def _fits(entry: AccessEntry) -> bool:
    """Every string field within its cap and its own escape: the common case, checked at once
    (for every line, so with the caps as constants and one string built)."""
    _, rid, client, method, path, route, portal, decision, reason = entry[:9]
    agent = entry.user_agent or ""
    return (
        len(path) <= _PATH
        and len(agent) <= _AGENT
        and len(rid) <= _REQUEST_ID
        and len(client) <= _CLIENT
        and len(method) <= _METHOD
        and len(route) <= _ROUTE
        and len(portal) <= _PORTAL
        and len(decision) <= _DECISION
        and len(reason) <= _REASON
        and _plain("".join((rid, client, method, path, route, portal, decision, reason, agent)))
    )


def _escaped(entry: AccessEntry, escape: Callable[[str], str]) -> AccessEntry:
    def cap(name: str) -> str:
        return capped(getattr(entry, name), CAPS[name], escape)

    return entry._replace(
        request_id=cap("request_id"),
        client=cap("client"),
        method=cap("method"),
        path=cap("path"),
        route=cap("route"),
        portal=cap("portal"),
        decision=cap("decision"),
        reason=cap("reason"),
        user_agent=None if entry.user_agent is None else cap("user_agent"),
    )


def json_line(entry: AccessEntry) -> bytes:
    """One JSON object and a newline; field order is the README's."""
    e = entry if _fits(entry) else _escaped(entry, _json_char)
    upstream = "null" if e.upstream_seconds is None else f"{e.upstream_seconds:.6f}"
    agent = "null" if e.user_agent is None else f'"{e.user_agent}"'
    return (
        f'{{"ts":"{rfc3339(e.ts)}","request_id":"{e.request_id}","client":"{e.client}",'
        f'"method":"{e.method}","path":"{e.path}","route":"{e.route}","portal":"{e.portal}",'
        f'"decision":"{e.decision}","reason":"{e.reason}","status":{int(e.status)},'
        f'"bytes":{int(e.bytes)},"upstream_seconds":{upstream},"duration":{e.duration:.6f},'
        f'"user_agent":{agent},"worker":{int(e.worker)}}}\n'
    ).encode("ascii")


def _word(name: str, value: str) -> str:
    """A bare word when it is one (no space, quote or escape needed), else quoted."""
    if value and " " not in value and len(value) <= CAPS[name] and _plain(value):
        return value
    return '"' + capped(value, CAPS[name], _text_char) + '"'


def text_line(entry: AccessEntry) -> bytes:
    """The same facts for people: `ts client "METHOD path" status bytes key=value ...`."""
    upstream = "-" if entry.upstream_seconds is None else f"{entry.upstream_seconds:.3f}"
    agent = "-" if entry.user_agent is None else _word("user_agent", entry.user_agent)
    method = capped(entry.method, CAPS["method"], _text_char)
    path = capped(entry.path, CAPS["path"], _text_char)
    return (
        f"{rfc3339(entry.ts)} {_word('client', entry.client)} "
        f'"{method} {path}" {int(entry.status)} {int(entry.bytes)} '
        f"route={_word('route', entry.route)} portal={_word('portal', entry.portal)} "
        f"decision={_word('decision', entry.decision)} reason={_word('reason', entry.reason)} "
        f"upstream={upstream} time={entry.duration:.3f} "
        f"rid={_word('request_id', entry.request_id)} ua={agent} worker={int(entry.worker)}\n"
    ).encode("ascii")


def path_for_log(raw_path: str, admin_prefix: str, *, keep_query: bool) -> str:
    """The target as logged: without its query unless asked, a preview link's token as `-`.

    SECURITY: a preview link (`<admin_prefix>/preview/<token>`) is a credential, and the log
    never holds it. It is recognised on the path's lower-cased, percent-decoded spelling with
    repeated slashes folded, so no other spelling of the prefix carries a token into the log.
    """
    path, sep, query = raw_path.partition("?")
    if "%" not in path and "review/" not in path.lower():
        return path + sep + query if keep_query else path
    loose = unquote(path).lower()
    if "://" in loose:
        # The absolute form (`http://host/_gateway/preview/<token>`): judged by its path.
        scheme, _, rest = loose.partition("://")
        if scheme in ("http", "https"):
            loose = "/" + rest.partition("/")[2]
    while "//" in loose:
        loose = loose.replace("//", "/")
    if loose.startswith(admin_prefix.lower() + "/preview/"):
        return admin_prefix + "/preview/-"
    # Envoy's ext_authz check appends the original path to the decision path.
    asked = admin_prefix.lower() + "/decision/"
    if loose.startswith(asked) and loose[len(asked) - 1 :].startswith(
        admin_prefix.lower() + "/preview/"
    ):
        return admin_prefix + "/decision" + admin_prefix + "/preview/-"
    return path + sep + query if keep_query else path
