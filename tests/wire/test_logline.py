"""Access-log lines: every field, escaped to printable ASCII, capped so a line fits PIPE_BUF."""

from __future__ import annotations

import json

import pytest

from gateway.wire.logline import (
    CAPS,
    LINE_MAX,
    TRUNCATED,
    AccessEntry,
    capped,
    json_line,
    path_for_log,
    rfc3339,
    text_line,
)

ENTRY = AccessEntry(
    ts=1764619515.1234,
    request_id="rid-1",
    client="203.0.113.5",
    method="GET",
    path="/office/a",
    route="office",
    portal="office",
    decision="forwarded",
    reason="forwarded",
    status=200,
    bytes=1234,
    upstream_seconds=0.0021234,
    duration=0.0031,
    user_agent="curl/8.5",
    worker=4242,
)


def test_rfc3339_is_utc_with_milliseconds() -> None:
    assert rfc3339(0.0) == "1970-01-01T00:00:00.000Z"
    assert rfc3339(1764619515.9999) == "2025-12-01T20:05:15.999Z"


def test_a_json_line_has_every_field_in_order() -> None:
    line = json_line(ENTRY)
    assert line == (
        b'{"ts":"2025-12-01T20:05:15.123Z","request_id":"rid-1","client":"203.0.113.5",'
        b'"method":"GET","path":"/office/a","route":"office","portal":"office",'
        b'"decision":"forwarded","reason":"forwarded","status":200,"bytes":1234,'
        b'"upstream_seconds":0.002123,"duration":0.003100,"user_agent":"curl/8.5",'
        b'"worker":4242}\n'
    )
    assert list(json.loads(line)) == list(AccessEntry._fields)


def test_nothing_upstream_and_no_user_agent_are_null() -> None:
    data = json.loads(json_line(ENTRY._replace(upstream_seconds=None, user_agent=None)))
    assert (data["upstream_seconds"], data["user_agent"]) == (None, None)
    text = text_line(ENTRY._replace(upstream_seconds=None, user_agent=None)).decode()
    assert " upstream=- " in text and " ua=- " in text


def test_a_text_line_says_the_same_facts() -> None:
    assert text_line(ENTRY) == (
        b'2025-12-01T20:05:15.123Z 203.0.113.5 "GET /office/a" 200 1234 route=office '
        b"portal=office decision=forwarded reason=forwarded upstream=0.002 time=0.003 "
        b"rid=rid-1 ua=curl/8.5 worker=4242\n"
    )


def test_control_characters_and_quotes_are_escaped_in_both_forms() -> None:
    hostile = ENTRY._replace(user_agent='a "b"\x1b[31m\x7f\xe9\n', route="my route")
    line = json_line(hostile)
    assert line.isascii() and line.count(b"\n") == 1
    assert b'"user_agent":"a \\"b\\"\\u001b[31m\\u007f\\u00e9\\n"' in line
    assert json.loads(line)["user_agent"] == 'a "b"\x1b[31m\x7f\xe9\n'
    text = text_line(hostile)
    assert text.isascii() and text.count(b"\n") == 1
    assert b' route="my route" ' in text
    assert b' ua="a \\"b\\"\\x1b[31m\\x7f\\xe9\\x0a" ' in text


def test_capping_counts_the_escaped_form_and_never_cuts_an_escape() -> None:
    assert capped("abc", 3, str) == "abc"
    assert capped("abcdef", 5, str) == "ab" + TRUNCATED
    # Each \x01 is six characters escaped (\u0001): two fit in 12 + 3, not three.
    out = capped("\x01" * 10, 15, lambda ch: json.dumps(ch)[1:-1])
    assert out == "\\u0001\\u0001" + TRUNCATED


@pytest.mark.parametrize("render", [json_line, text_line], ids=["json", "text"])
def test_the_worst_line_still_fits_one_atomic_pipe_write(render: object) -> None:
    # Every capped field at its cap, in the character that escapes longest.
    worst = ENTRY._replace(
        **{name: "\U0001f600" * (cap + 10) for name, cap in CAPS.items()},
        status=999,
        bytes=10**18,
        upstream_seconds=10.0**9,
        duration=10.0**9,
        worker=2**22,
        ts=253402300799.0,
    )
    assert callable(render)
    line = render(worst)
    assert len(line) <= LINE_MAX
    assert line.endswith(b"\n") and line.count(b"\n") == 1


@pytest.mark.parametrize(
    ("raw", "keep", "logged"),
    [
        ("/pay?card=4111&token=abc", False, "/pay"),
        ("/pay?card=4111&token=abc", True, "/pay?card=4111&token=abc"),
        ("/_gateway/preview/s3cret", False, "/_gateway/preview/-"),
        ("/_gateway/preview/s3cret/more?x=1", True, "/_gateway/preview/-"),
        ("/_GATEWAY/%70review/s3cret", False, "/_gateway/preview/-"),
        ("//_gateway//preview/s3cret", False, "/_gateway/preview/-"),
        ("/_gateway/previewer/x", False, "/_gateway/previewer/x"),
        ("/office/_gateway/preview/x", False, "/office/_gateway/preview/x"),
        # The absolute form (a client that takes the gateway for a forward proxy) too.
        ("http://portal.example.com/_gateway/preview/s3cret", False, "/_gateway/preview/-"),
        ("HTTPS://h:8443//_gateway/%70review/s3cret?x", True, "/_gateway/preview/-"),
        ("http://h/office/_gateway/preview/x", False, "http://h/office/_gateway/preview/x"),
        # Envoy's check request carries the original path after the decision path: a link
        # its exact route did not match (a trailing ")" pasted with it) is asked about.
        (
            "/_gateway/decision/_gateway/preview/s3cret)",
            False,
            "/_gateway/decision/_gateway/preview/-",
        ),
        (
            "/_gateway/decision//_gateway/%70review/s3cret?q",
            True,
            "/_gateway/decision/_gateway/preview/-",
        ),
        ("/_gateway/decision/account?x=1", True, "/_gateway/decision/account?x=1"),
    ],
)
def test_the_logged_path(raw: str, keep: bool, logged: str) -> None:
    assert path_for_log(raw, "/_gateway", keep_query=keep) == logged
