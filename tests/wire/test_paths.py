"""The canonical target: what routing decides on is exactly what is forwarded."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.wire import paths
from gateway.wire.paths import PathRejected, canonicalize, route_segments


@pytest.mark.parametrize(
    ("raw", "segments"),
    [
        ("/", ("",)),
        ("/office", ("office",)),
        ("/office/", ("office", "")),
        ("/Office/Families", ("office", "families")),
        ("/p%6Frtal/enroll", ("portal", "enroll")),
        ("/c%28d%29", ("c(d)",)),
        ("/caf%C3%A9", ("café",)),
        ("/a+b/x~y", ("a+b", "x~y")),
    ],
)
def test_ordinary_targets_keep_their_bytes(raw: str, segments: tuple[str, ...]) -> None:
    target = canonicalize(raw + "?q=%2F%28x%29&r=a+b")
    assert target.forward == raw + "?q=%2F%28x%29&r=a+b"
    assert target.segments == segments


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("/public/../office", "dot segment in path"),
        ("/public/./x", "dot segment in path"),
        ("/public/%2e%2e/x", "dot segment in path"),
        ("/public/.%2E/x", "dot segment in path"),
        ("//office", "empty path segment (repeated '/')"),
        ("/a//b", "empty path segment (repeated '/')"),
        ("/a%2Fb", "encoded slash or backslash in path"),
        ("/a%5cb", "encoded slash or backslash in path"),
        ("/a\\b", "invalid character in path (only RFC 3986 characters are accepted)"),
        ("/portal;jsessionid=1/enroll", "path parameters (';') are not accepted"),
        ("/a%3Bb", "encoded ';' in path"),
        ("/a%00b", "encoded control character in path"),
        ("/a%23b", "encoded '#' or '?' in path"),
        ("/a%3fb", "encoded '#' or '?' in path"),
        ("/a%252e%252e", "double percent-encoding in path"),
        ("/a%zz", "malformed percent-escape in path"),
        ("/%C0%AE%C0%AE/x", "invalid or overlong UTF-8 in path"),
        ("/%EF%BD%8Fffice", "path is not in Unicode normal form (look-alike characters)"),
        ("/caf\u00e9", "invalid character in path (only RFC 3986 characters are accepted)"),
        ("/a#frag", "fragment ('#') in request target"),
        ("/a\x01", "control character or space in request target"),
        ("*", "asterisk-form target ('*') is not served"),
        ("portal.example:443", "request target must be origin-form ('/path')"),
        ("http://user@host/x", "absolute-form target without a valid authority"),
    ],
)
def test_ambiguous_targets_are_rejected(raw: str, reason: str) -> None:
    with pytest.raises(PathRejected) as info:
        canonicalize(raw)
    assert info.value.reason == reason
    assert info.value.status == 400


def test_too_long_is_414() -> None:
    with pytest.raises(PathRejected) as info:
        canonicalize("/" + "a" * 9000)
    assert info.value.status == 414


def test_absolute_form_gives_authority_and_origin_form() -> None:
    target = canonicalize("http://portal.example:8443/x?y=1")
    assert target.authority == "portal.example:8443"
    assert target.forward == "/x?y=1"


def test_escaped_slashes_keep_routes_on_the_decoded_shape() -> None:
    target = canonicalize("/public%2F..%2Fenroll".replace("..", "x"), escaped_slashes="keep")
    assert target.forward == "/public%2Fx%2Fenroll"
    assert target.segments == ("public", "x", "enroll")
    with pytest.raises(PathRejected, match="dot segment"):
        canonicalize("/public%2F..%2Fenroll", escaped_slashes="keep")


def test_route_segments() -> None:
    assert route_segments("/") == ()
    assert route_segments("/public/") == ("public",)
    assert route_segments("/API/Office") == ("api", "office")


# Characters that matter to the walk (escapes, dots, slashes, case, look-alikes, controls),
# plus plain ones: the fast path must answer exactly as the walk for every path.
_PATH_ALPHABET = "/.%;\\aAzZ09-_~2fF5cC3bB7E0\n\x7f é\uff4f\u2126"


def _outcome(call: Callable[[], tuple[str, ...]]) -> object:
    try:
        return call()
    except PathRejected as exc:
        return (exc.reason, exc.status)


def _walked(path: str, mode: str) -> tuple[str, ...]:
    paths._check_path(path)
    return paths._walk_segments(path, mode)


@settings(max_examples=3000, deadline=None)
@given(
    st.text(alphabet=_PATH_ALPHABET, max_size=24).map(lambda tail: "/" + tail),
    st.sampled_from(["reject", "keep"]),
)
def test_the_fast_path_answers_as_the_segment_walk(path: str, mode: str) -> None:
    assert _outcome(lambda: paths._segments(path, mode)) == _outcome(lambda: _walked(path, mode))


@pytest.mark.parametrize("mode", ["reject", "keep"])
@pytest.mark.parametrize(
    "path",
    ["/", "/account", "/Account/Enrollments/7/", "/a/b.c/d-e_f~g", "/.well-known/x", "/a//b",
     "/a/./b", "/a/%2e%2e/b", "/a/%41", "/a/../b", "/OFFICE"],
)  # fmt: skip
def test_common_paths_answer_alike_on_both_paths(path: str, mode: str) -> None:
    assert _outcome(lambda: paths._segments(path, mode)) == _outcome(lambda: _walked(path, mode))


@given(st.text(alphabet="a/\x00\x1f\x20\x21\x7e\x7f\x80é", max_size=12))
def test_the_control_character_check_is_the_per_character_one(target: str) -> None:
    per_character = any(ord(c) < 0x21 or ord(c) == 0x7F for c in target)
    assert bool(paths._CONTROL.search(target)) is per_character
