"""Session stamps: the encrypted cookie, its deletion rules and the judge's truth table."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.fernet import Fernet

from gateway.policy.stamps import (
    MAX_STALE_HASHES,
    STAMP_MAX_AGE,
    Stamp,
    StampCodec,
    is_deletion,
    judge,
)
from tests.conftest import SESSION_KEY

CODEC = StampCodec(SESSION_KEY.encode(), "portal_gateway_stamp")
NOW = 1_700_000_000.0
DISABLED = NOW - 100


def bound(name: str, value: str, at: float) -> dict[str, dict[str, object]]:
    return {name: {"h": CODEC.digest(name, value), "t": at}}


def test_a_stamp_round_trips_and_hides_the_session_and_the_key() -> None:
    stamp = Stamp(bound=bound("portal_session", "secret-value", 5.0), issued_at=7.0, stale=["x"])
    value = CODEC.dump(stamp, NOW)
    assert "secret-value" not in value and SESSION_KEY not in repr(CODEC)
    assert repr(CODEC) == "StampCodec(cookie='portal_gateway_stamp')"
    assert CODEC.load([value], NOW) == stamp


def test_the_payload_is_aiohttp_sessions_layout() -> None:
    stamp = Stamp(bound=bound("portal_session", "v", 5.0), issued_at=7.0)
    key = base64.urlsafe_b64encode(CODEC._key)  # what a portal with the same key derives
    data = json.loads(Fernet(key).decrypt(CODEC.dump(stamp, NOW).encode()))
    assert data == {"created": int(NOW), "session": {"s": stamp.bound, "i": 7.0}}


def test_load_takes_the_first_stamp_that_decrypts_and_ignores_junk_and_old_ones() -> None:
    good = CODEC.dump(Stamp(issued_at=3.0), NOW)
    other = StampCodec(b"another key of at least 32 chars!!", "portal_gateway_stamp")
    assert CODEC.load(["junk", other.dump(Stamp(issued_at=1.0), NOW), good], NOW).issued_at == 3.0
    assert CODEC.load([good], NOW + STAMP_MAX_AGE + 10) == Stamp()  # past the cookie's life
    assert CODEC.load([], NOW) == Stamp()


def test_a_stamp_without_an_issue_time_counts_as_issued_at_the_beginning_of_time() -> None:
    loaded = CODEC.load([CODEC.dump(Stamp(bound=bound("s", "v", 1.0)), NOW)], NOW)
    assert loaded.issued_at == float("-inf")


def test_only_the_latest_stale_hashes_are_kept() -> None:
    stamp = Stamp(stale=[f"h{i}" for i in range(MAX_STALE_HASHES + 4)])
    loaded = CODEC.load([CODEC.dump(stamp, NOW)], NOW)
    assert loaded.stale == [f"h{i}" for i in range(4, MAX_STALE_HASHES + 4)]


def test_the_digest_binds_the_name_and_the_value() -> None:
    assert CODEC.digest("portal_session", "a") != CODEC.digest("portal_session", "b")
    assert CODEC.digest("portal_session", "a") != CODEC.digest("remember_me", "a")
    assert CODEC.digest("a", "b=c") == CODEC.digest("a", "b=c")


def test_the_set_cookie_line() -> None:
    line = CODEC.set_cookie(Stamp(), NOW, secure=False)
    assert line.startswith("portal_gateway_stamp=")
    assert f"; Max-Age={STAMP_MAX_AGE}; Expires=" in line
    assert line.endswith("; Path=/; HttpOnly; SameSite=Lax")
    assert CODEC.set_cookie(Stamp(), NOW, secure=True).endswith("; SameSite=Lax; Secure")


@pytest.mark.parametrize(
    ("line", "deletes"),
    [
        ("s=abc; Path=/", False),
        ("s=; Path=/", True),
        ('s=""', True),
        ("s=abc; Max-Age=0", True),
        ("s=abc; max-age=-1", True),
        ("s=abc; Max-Age=60", False),
        ("s=abc; Max-Age=soon", False),
        ("s=abc; Expires=Thu, 01 Jan 1970 00:00:00 GMT", True),
        ("s=abc; Expires=Fri, 01 Jan 2100 00:00:00 GMT", False),
        ("s=abc; Expires=whenever", False),
    ],
)
def test_is_deletion(line: str, deletes: bool) -> None:
    assert is_deletion(line, NOW) is deletes


@pytest.mark.parametrize(
    ("stamp", "last_disabled_at", "stale"),
    [
        (Stamp(), None, False),  # no disable seen: everything is fresh
        (Stamp(stale=[CODEC.digest("portal_session", "v")]), None, True),  # judged before
        (Stamp(bound=bound("portal_session", "v", DISABLED + 1)), DISABLED, False),
        (Stamp(bound=bound("portal_session", "v", DISABLED)), DISABLED, True),
        (Stamp(bound=bound("portal_session", "other", DISABLED + 1)), DISABLED, True),
        (Stamp(), DISABLED, True),  # unbound, no stamp
        (Stamp(issued_at=DISABLED + 1), DISABLED, False),  # unbound under a newer stamp
        (Stamp(issued_at=DISABLED - 1), DISABLED, True),
        (Stamp(issued_at=float("-inf")), DISABLED, True),  # a stamp without an issue time
    ],
)
def test_judge(stamp: Stamp, last_disabled_at: float | None, stale: bool) -> None:
    names, _ = judge(CODEC, stamp, [("portal_session", "v")], last_disabled_at)
    assert names == (["portal_session"] if stale else [])


def test_judge_binds_fresh_values_at_the_stamps_issue_and_records_stale_ones() -> None:
    stamp = Stamp(issued_at=DISABLED + 5)
    stale, changed = judge(CODEC, stamp, [("portal_session", "v")], DISABLED)
    assert (stale, changed) == ([], True)
    assert stamp.bound == bound("portal_session", "v", DISABLED + 5)
    # Bound now: judged again, nothing changes.
    assert judge(CODEC, stamp, [("portal_session", "v")], DISABLED) == ([], False)
    old = Stamp()
    carried = [("portal_session", "v"), ("portal_session", "w")]
    assert judge(CODEC, old, carried, DISABLED) == (["portal_session"], True)
    assert old.stale == [CODEC.digest("portal_session", "v"), CODEC.digest("portal_session", "w")]


def test_a_value_bound_without_a_known_issue_time_is_bound_at_zero() -> None:
    stamp = Stamp()
    judge(CODEC, stamp, [("portal_session", "v")], None)
    assert stamp.bound == bound("portal_session", "v", 0.0)


def blank_at(at: float) -> Stamp:
    return Stamp(issued_at=at)


def issued_at(line: str, now: float) -> float | None:
    return (
        StampCodec(SESSION_KEY.encode(), "portal_gateway_stamp")
        .load([line.split(";", 1)[0].split("=", 1)[1]], now)
        .issued_at
    )


def test_a_blank_stamp_is_minted_once_a_second_and_never_says_a_later_issue() -> None:
    codec = StampCodec(SESSION_KEY.encode(), "portal_gateway_stamp")
    first = codec.issue(blank_at(NOW), NOW, False, DISABLED)
    later = blank_at(NOW + 0.5)
    assert codec.issue(later, NOW + 0.5, False, DISABLED) == first
    # The request is told the issue time its cookie says: the earlier one.
    assert later.issued_at == NOW == issued_at(first, NOW + 0.5)
    assert codec.issue(blank_at(NOW + 0.5), NOW + 0.5, True, DISABLED) != first  # Secure
    fresh = codec.issue(blank_at(NOW + 1), NOW + 1, False, DISABLED)
    assert fresh != first and issued_at(fresh, NOW + 1) == NOW + 1
    assert codec.issue(blank_at(NOW), NOW, False, DISABLED) != fresh  # the clock went back


def test_a_blank_stamp_from_before_the_last_disable_is_not_reused() -> None:
    codec = StampCodec(SESSION_KEY.encode(), "portal_gateway_stamp")
    first = codec.issue(blank_at(NOW), NOW, False, DISABLED)
    # A disable seen at NOW + 0.2: a stamp issued at NOW would be replaced on the next request.
    after = blank_at(NOW + 0.4)
    line = codec.issue(after, NOW + 0.4, False, NOW + 0.2)
    assert line != first and after.issued_at == NOW + 0.4 == issued_at(line, NOW + 0.4)
    assert codec.issue(blank_at(NOW + 0.5), NOW + 0.5, False, None) == line


@pytest.mark.parametrize(
    "stamp",
    [
        Stamp(bound=bound("portal_session", "v", NOW), issued_at=NOW + 0.5),
        Stamp(stale=["h"], issued_at=NOW + 0.5),
        Stamp(issued_at=NOW - 10),  # kept from the request: only one minted now is blank
    ],
)
def test_a_stamp_with_the_browsers_own_values_is_always_its_own(stamp: Stamp) -> None:
    codec = StampCodec(SESSION_KEY.encode(), "portal_gateway_stamp")
    codec.issue(blank_at(NOW), NOW, False, None)
    line = codec.issue(stamp, NOW + 0.5, False, None)
    assert line.split(";", 1)[0].split("=", 1)[1] != ""
    assert codec.load([line.split(";", 1)[0].split("=", 1)[1]], NOW + 1) == stamp
