"""Preview tokens: signed, expiring, revocable, and no other token of the gateway's passes."""

from __future__ import annotations

import base64

import pytest

from gateway.policy.preview import COOKIE, PreviewCodec, link, set_cookie, token_of
from gateway.policy.stamps import Stamp, StampCodec

KEY = b"k" * 32
NOW = 1_700_000_000.0


def test_a_token_is_valid_until_its_expiry() -> None:
    codec = PreviewCodec(KEY)
    token = codec.issue(NOW + 7200, 0)
    assert codec.check(token, NOW, 0).valid
    assert codec.check(token, NOW + 7199, 0).expires_at == NOW + 7200
    assert codec.check(token, NOW + 7200, 0).verdict == "expired"


def test_a_token_is_url_and_cookie_safe() -> None:
    token = PreviewCodec(KEY).issue(NOW + 60, 3)
    assert all(c.isalnum() or c in "._-" for c in token)
    assert link("https://portal.example.com/", "/_gateway", token) == (
        f"https://portal.example.com/_gateway/preview/{token}"
    )


def test_an_older_generation_is_revoked_a_newer_one_is_not() -> None:
    codec = PreviewCodec(KEY)
    assert codec.check(codec.issue(NOW + 60, 1), NOW, 2).verdict == "revoked"
    assert codec.check(codec.issue(NOW + 60, 2), NOW, 2).valid
    assert codec.check(codec.issue(NOW + 60, 3), NOW, 2).valid


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t.replace("p1.", "p2.", 1),
        # a later expiry, or a newer generation, with the MAC left as it was
        lambda t: "p1.9999999999." + t.split(".", 2)[2],
        lambda t: ".".join([*t.split(".")[:2], "7", t.split(".")[3]]),
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: t + "=",
        lambda t: t.upper(),
        lambda t: "",
        lambda t: "p1.1.0.",
    ],
)
def test_a_changed_token_is_invalid(edit: object) -> None:
    codec = PreviewCodec(KEY)
    token = codec.issue(NOW + 60, 0)
    changed = edit(token)  # type: ignore[operator]
    assert changed != token
    assert codec.check(changed, NOW, 0).verdict == "invalid"


def test_another_key_signs_other_tokens() -> None:
    token = PreviewCodec(b"o" * 32).issue(NOW + 60, 0)
    assert PreviewCodec(KEY).check(token, NOW, 0).verdict == "invalid"


def test_a_stamp_is_no_token_and_the_mac_is_not_the_stamp_key() -> None:
    stamps = StampCodec(KEY, "portal_gateway_stamp")
    stamp = stamps.dump(Stamp(issued_at=NOW), NOW)
    assert PreviewCodec(KEY).check(stamp, NOW, 0).verdict == "invalid"
    # The MAC a token carries is not what the stamp key would give over the same payload.
    token = PreviewCodec(KEY).issue(NOW + 60, 0)
    payload, _, mac = token.rpartition(".")
    assert stamps.digest("p1", payload) not in mac
    raw = base64.urlsafe_b64decode(mac + "=")
    assert len(raw) == 32
    # ... and a token is no stamp.
    assert stamps.load([token], NOW) == Stamp()


def test_first_valid_picks_any_valid_value() -> None:
    codec = PreviewCodec(KEY)
    good = codec.issue(NOW + 60, 0)
    assert codec.first_valid([], NOW, 0) is None
    picked = codec.first_valid(["junk", f'"{good}"'], NOW, 0)
    assert picked is not None and picked.valid
    bad = codec.first_valid(["junk"], NOW, 0)
    assert bad is not None and bad.verdict == "invalid"


def test_token_of_reads_only_the_exact_spelling() -> None:
    assert token_of("/_gateway/preview/abc", "/_gateway") == "abc"
    assert token_of("/_gateway/preview/abc?x=1", "/_gateway") == "abc"
    assert token_of("/_gateway/preview/", "/_gateway") is None
    assert token_of("/_gateway/preview/a/b", "/_gateway") is None
    assert token_of("/_gateway/preview/a%2Fb", "/_gateway") is None
    assert token_of("/_gateway/previewx", "/_gateway") is None
    assert token_of("/ops/preview/abc", "/ops") == "abc"


def test_the_cookie_expires_with_the_token() -> None:
    line = set_cookie("tok", NOW + 90, NOW, secure=False)
    assert line.startswith(f"{COOKIE}=tok; Max-Age=90; Expires=")
    assert "Path=/; HttpOnly; SameSite=Lax" in line
    assert "Secure" not in line
    assert set_cookie("tok", NOW + 90, NOW, secure=True).endswith("; Secure")
