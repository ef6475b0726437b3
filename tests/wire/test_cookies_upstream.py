"""Session cookies as real upstream parsers read them: Django, Werkzeug, SimpleCookie and PHP.

For each raw Cookie header, every parser says which names it yields. Whenever one yields a
session name, the gateway must withhold a pair of that header, and the header it forwards
instead, parsed again by the same parser, must hold no session name at all. The `seen_by`
column pins what each parser does today (docs/cookie-names.md), so the table cannot quietly
turn into cases no parser reads as a session.
"""

from __future__ import annotations

import fnmatch
import json
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from http.cookies import CookieError, SimpleCookie
from pathlib import Path

import pytest
from django.http.cookie import parse_cookie as django_parse_cookie
from werkzeug.wrappers import Request as WerkzeugRequest

from gateway.wire import cookies
from tests.processes import free_port
from tests.services import require_binary

PATTERNS = ["portal_session", "sessionid", "remember_*"]
MATCH = cookies.SessionCookieMatcher(PATTERNS)

# An app looks its session cookie up by its exact name.
Parser = Callable[[bytes], list[str]]


def is_session(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in PATTERNS)


def latin1(header: bytes) -> str:
    # WSGI and ASGI servers hand the application header bytes decoded as latin-1.
    return header.decode("latin-1")


def django(header: bytes) -> list[str]:
    return list(django_parse_cookie(latin1(header)))


def werkzeug(header: bytes) -> list[str]:
    # request.cookies as Flask reads it (werkzeug.http.parse_cookie would re-decode as UTF-8).
    return list(WerkzeugRequest({"HTTP_COOKIE": latin1(header)}).cookies.keys())


def simplecookie(header: bytes) -> list[str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(latin1(header))
    except CookieError:
        return []
    return list(jar.keys())


PHP_SCRIPT = (
    "<?php echo json_encode(array_map('bin2hex', array_map('strval', array_keys($_COOKIE))));"
)


@pytest.fixture(scope="module")
def php(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Parser]:
    """PHP's built-in web server (php-cli) answering with the names $_COOKIE holds."""
    binary = require_binary("/usr/bin/php", "php-cli")
    root: Path = tmp_path_factory.mktemp("php")
    (root / "index.php").write_text(PHP_SCRIPT)
    port = free_port()
    # -n: no php.ini, so the machine's settings cannot change what is tested.
    proc = subprocess.Popen(
        [binary, "-n", "-S", f"127.0.0.1:{port}", "-t", str(root)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip

    def ask(header: bytes) -> list[str]:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET /index.php HTTP/1.0\r\nHost: t\r\nCookie: " + header + b"\r\n\r\n")
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.0 200"), head
        return [bytes.fromhex(h).decode("latin-1") for h in json.loads(body)]

    try:
        for _ in range(100):
            try:
                ask(b"probe=1")
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise AssertionError("php -S did not start")
        yield ask
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# (raw header, the parsers that yield a session name from it)
CASES: list[tuple[bytes, set[str]]] = [
    (b"portal_session=abc", {"django", "werkzeug", "simplecookie", "php"}),
    (b"theme=dark;portal.session=abc", {"php"}),
    (b"theme=dark; portal session=abc", {"php"}),
    (b"portal[session=abc", {"php"}),
    (b"portal_session[x]=abc", {"php"}),
    (b"remember.web=abc", {"php"}),
    (b"x=1; remember web_1=abc", {"php"}),
    (b"a=1; .sessionid=abc", set()),
    (b"portal%5Fsession=abc", set()),
    (b'"portal_session"=abc', set()),
    (b"SessionID=abc", set()),
    (b"sessionid=a; sessionid=b", {"django", "werkzeug", "simplecookie", "php"}),
    (b"portal.session=old; portal_session=new", {"django", "werkzeug", "simplecookie", "php"}),
    (b"a=1, sessionid=abc", {"simplecookie"}),
    (b"a=1 sessionid=abc", {"simplecookie"}),
    (b"a=1,sessionid=abc", set()),
    (b"\tsessionid=abc", {"django", "werkzeug", "simplecookie", "php"}),
    (b"sessionid\t=abc", {"django", "werkzeug", "simplecookie"}),
    (b"portal_session =abc", {"django", "werkzeug", "simplecookie"}),
    (b"a=1;\x0bsessionid=abc", {"django", "simplecookie", "php"}),
    (b"a=1;\x0csessionid=abc", {"django", "simplecookie", "php"}),
    (b"a=1; \xa0portal_session=abc", {"django"}),
    (b"a=1; portal_session\x85=abc", {"django"}),
    (b"a=1; \xc2\xa0portal_session=abc", set()),
    (b"a=1; \xe3\x80\x80sessionid=abc", set()),
    (b"a=1; portal_session", {"werkzeug", "php"}),
    (b'a="x;portal_session=y"', {"django", "php"}),
    (b"$Version=1; portal_session=abc", {"django", "werkzeug", "simplecookie", "php"}),
    (b"a=1;;portal_session=abc;", {"django", "werkzeug", "php"}),
    (b"remember_web_59ba=abc; theme=dark", {"django", "werkzeug", "simplecookie", "php"}),
    (b"theme=dark; lang=en", set()),
]
PARSERS = ("django", "werkzeug", "simplecookie", "php")


def parser_for(name: str, php: Parser) -> Parser:
    return {"django": django, "werkzeug": werkzeug, "simplecookie": simplecookie, "php": php}[name]


def forwarded(header: bytes, disable_seen: bool) -> bytes | None:
    """What the gateway sends upstream for this header on a customer route."""
    # aiohttp hands the gateway header bytes decoded as UTF-8 with surrogateescape.
    line = header.decode("utf-8", "surrogateescape")
    drop = cookies.withheld(cookies.parse([line]), MATCH, disable_seen)
    remaining = cookies.without([line], drop)
    return None if remaining is None else remaining.encode("utf-8", "surrogateescape")


@pytest.mark.parametrize(("header", "seen_by"), CASES, ids=[repr(c[0]) for c in CASES])
@pytest.mark.parametrize("disable_seen", [False, True], ids=["no-disable", "disable-seen"])
def test_no_upstream_parser_sees_a_session_the_gateway_forwarded(
    php: Parser, header: bytes, seen_by: set[str], disable_seen: bool
) -> None:
    line = header.decode("utf-8", "surrogateescape")
    flagged = cookies.withheld(cookies.parse([line]), MATCH, disable_seen)
    sent = forwarded(header, disable_seen)
    for name in PARSERS:
        parser = parser_for(name, php)
        sees = [n for n in parser(header) if is_session(n)]
        assert bool(sees) == (name in seen_by), f"{name} read {parser(header)!r}"
        if sees:
            assert flagged, f"{name} reads {sees!r} but the gateway withholds nothing"
        if sent is not None:
            left = [n for n in parser(sent) if is_session(n)]
            assert left == [], f"{name} still reads {left!r} in {sent!r}"


def test_the_table_needs_more_than_the_parsed_name() -> None:
    # Cases that a parser reads as a session although the gateway's own parse gives another
    # name: without them the table would only prove exact matching.
    odd = [
        header
        for header, seen_by in CASES
        if seen_by
        and not any(
            is_session(name)
            for name, _ in cookies.parse([header.decode("utf-8", "surrogateescape")])
        )
    ]
    assert len(odd) >= 10, odd


def test_cookies_without_a_session_reading_pass_untouched() -> None:
    assert forwarded(b"theme=dark; lang=en", disable_seen=True) == b"theme=dark; lang=en"
    assert (
        forwarded(b'theme="dark blue"; lang=en', disable_seen=False)
        == b'theme="dark blue"; lang=en'
    )


def test_after_a_disable_names_that_are_not_tokens_are_withheld(php: Parser) -> None:
    header = b"a=1; b c=2; \xc3\xa9t\xc3\xa9=3; d=4; nameless"
    assert forwarded(header, disable_seen=False) == header
    sent = forwarded(header, disable_seen=True)
    assert sent == b"a=1; d=4"
    assert php(sent) == ["a", "d"] and django(sent) == ["a", "d"]
