"""gateway.cookies: the names upstreams read, what the gate withholds, and what it expires."""

from __future__ import annotations

import pytest

from gateway.wire import cookies

MATCH = cookies.SessionCookieMatcher(["portal_session", "sessionid", "remember_*"])


@pytest.mark.parametrize(
    ("raw", "becomes", "why"),
    [
        ("portal.session", "portal_session", "PHP turns dots into underscores"),
        ("portal session", "portal_session", "PHP turns spaces into underscores"),
        ("portal[session", "portal_session", "PHP turns an unmatched [ into _"),
        ("portal_session[a]", "portal_session", "PHP reads name[...] as an array"),
        ("portal_session ", "portal_session_", "PHP keeps a trailing space, as _"),
        ("\x0bportal_session", "portal_session", "Django's str.strip, PHP's isspace"),
        ("portal_session\x85", "portal_session", "Django's str.strip of U+0085"),
        ("\ufeffsessionid", "sessionid", "cookie@0.x's String.prototype.trim"),
        ("\udca0sessionid", "\xa0sessionid", "the byte 0xA0 read as latin-1 (WSGI, Node)"),
        ("\xa0sessionid", "sessionid", "Django strips U+00A0"),
        ("\tsessionid", "\tsessionid", "Rack keeps a leading tab"),
        ("portal%5Fsession", "portal_session", "old PHP and Rack URL-decode names"),
        ("portal+session", "portal_session", "old PHP decodes + to a space, then mangles it"),
        ("%20sessionid", "sessionid", "old PHP decodes, then drops leading spaces"),
        ("sessionid%00x", "sessionid", "old PHP decodes %00 and ends the C string there"),
        ("a,sessionid", "sessionid", "Rack < 2.2.3 and Tomcat's RFC 2109 mode split on ,"),
        ("a sessionid", "sessionid", "SimpleCookie and Tomcat's legacy parser split on spaces"),
        ('"sessionid"', "sessionid", "a quoted name, unquoted by lenient parsers"),
        ("(sessionid", "sessionid", "Tomcat's legacy parser skips separators before a name"),
    ],
)
def test_upstream_names(raw: str, becomes: str, why: str) -> None:
    assert becomes in cookies.upstream_names(raw), why
    assert raw.strip(" \t") in cookies.upstream_names(raw)


def test_upstream_names_of_a_plain_name_is_the_name() -> None:
    assert cookies.upstream_names("theme") == {"theme"}
    assert "" not in cookies.upstream_names("   ")
    # A lone surrogate that no undecodable byte produced still has its readings, no error.
    assert "\ud800sid" in cookies.upstream_names("\ud800sid")


@pytest.mark.parametrize(
    ("raw", "session"),
    [
        ("portal_session", True),
        ("Portal_Session", True),
        ("portal.session", True),
        ("remember.web_1", True),
        ("REMEMBER_me", True),
        (" sessionid", True),
        ("portal_session2", False),
        ("theme", False),
        ("xsessionid", False),
        ("remember", False),
    ],
)
def test_matcher_flags_every_reading(raw: str, session: bool) -> None:
    assert MATCH(raw) is session


def test_carries_finds_sessions_inside_values_and_nameless_pairs() -> None:
    assert MATCH.carries("a", "1, portal_session=x")
    assert MATCH.carries("a", "1 sessionid=x")
    assert MATCH.carries("", "portal_session")
    # A value that merely looks like a session name carries nothing: no parser reads a name there.
    assert not MATCH.carries("consent", "remember_me")
    assert not MATCH.carries("a", "portal_session")
    assert not MATCH.carries("a", "1 portal_session")
    assert cookies.embedded_names('"1, sessionid=x b=2"') == ["sessionid", "b"]


@pytest.mark.parametrize(
    ("name", "token"),
    [
        ("portal_session", True),
        ("a.b-c~d!#$%&'*+^`|", True),
        ("", False),
        ("a b", False),
        ('"a"', False),
        ("a,b", False),
        ("a[b]", False),
        ("été", False),
        ("a\tb", False),
    ],
)
def test_is_token(name: str, token: bool) -> None:
    assert cookies.is_token(name) is token


def test_withheld_gives_raw_names_once_in_order() -> None:
    pairs = cookies.parse(["a=1; portal.session=x; b c=2; sessionid=3; sessionid=4; flag"])
    assert cookies.withheld(pairs, MATCH, disable_seen=False) == ["portal.session", "sessionid"]
    assert cookies.withheld(pairs, MATCH, disable_seen=True) == [
        "portal.session",
        "b c",
        "sessionid",
        "",
    ]
    # Tomcat parses a header opening with $Version=1 as RFC 2109, where `,` separates cookies.
    pairs = cookies.parse(["$Version=1; a=1,portal_session=x; b=2"])
    assert cookies.withheld(pairs, MATCH, disable_seen=True) == ["a"]
    # A duplicate whose second value hides a session is still caught.
    pairs = cookies.parse(["a=1; a=2, sessionid=3"])
    assert cookies.withheld(pairs, MATCH, disable_seen=False) == ["a"]


def test_without_drops_by_raw_name_and_keeps_the_rest_byte_for_byte() -> None:
    lines = ['a = "q v" ; portal.session=x', "sessionid=1;sessionid=2; b=2", "flag"]
    assert cookies.without(lines, ["portal.session", "sessionid"]) == 'a = "q v"; b=2; flag'
    assert (
        cookies.without(lines, [""]) == 'a = "q v"; portal.session=x; sessionid=1; sessionid=2; b=2'
    )
    assert cookies.without(["  \tportal_session=x ;"], ["portal_session"]) is None


def test_session_names_are_the_raw_names_the_browser_holds() -> None:
    lines = ["theme=dark; portal.session=x; Portal_Session=y; a=1, sessionid=z; portal_session"]
    assert cookies.session_names(lines, MATCH) == ["portal.session", "Portal_Session", "a"]


def test_expiry_lines_name_the_raw_cookie() -> None:
    assert cookies.expiry_lines("portal.session", ["/"], ["example.com"]) == [
        f"portal.session=; Max-Age=0; Expires={cookies.EXPIRED}; Path=/",
        f"portal.session=; Max-Age=0; Expires={cookies.EXPIRED}; Path=/; Domain=example.com",
    ]
    assert cookies.expiry_lines("portal session", ["/app"], []) == [
        f"portal session=; Max-Age=0; Expires={cookies.EXPIRED}; Path=/app"
    ]
    assert cookies.expiry_lines("\xe9t\xe9", ["/"], []) == [
        f"\xe9t\xe9=; Max-Age=0; Expires={cookies.EXPIRED}; Path=/"
    ]


def test_expiry_lines_follow_the_prefixes_whatever_their_case() -> None:
    # Browsers enforce __Host-/__Secure- case-insensitively: a deletion without them is ignored.
    assert cookies.expiry_lines("__host-sid", ["/a", "/b"], ["example.com"]) == [
        f"__host-sid=; Max-Age=0; Expires={cookies.EXPIRED}; Path=/; Secure"
    ]
    assert cookies.expiry_lines("__SECURE-sid", ["/"], []) == [
        f"__SECURE-sid=; Max-Age=0; Expires={cookies.EXPIRED}; Path=/; Secure"
    ]


@pytest.mark.parametrize(
    ("name", "settable"),
    [
        ("portal.session", True),
        ("a\tb", True),
        ("", False),
        ("\x0bsessionid", False),
        ("a\x7fb", False),
        ("\udca0sessionid", False),
        (" a", False),
    ],
)
def test_only_names_a_set_cookie_can_carry_are_expired(name: str, settable: bool) -> None:
    assert cookies.settable(name) is settable
    assert bool(cookies.expiry_lines(name, ["/"], [])) is settable
