"""The page's detail: placement at the marker or after the sentence, escaping, times, caching."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from gateway.config import UNAVAILABLE_MESSAGE
from gateway.policy.detail import (
    MARKER,
    detail_html,
    place_detail,
    render_json,
    render_page,
    retry_after,
    return_time,
    rfc3339_utc,
)

S = UNAVAILABLE_MESSAGE
AT = 1_800_000_090.0  # 2027-01-15T08:01:30Z


def test_the_detail_goes_at_the_marker_and_an_empty_one_removes_it() -> None:
    page = f"<h1>x</h1><p>{S}</p><footer>{MARKER}</footer>"
    assert place_detail(page, S, "<p>D</p>") == f"<h1>x</h1><p>{S}</p><footer><p>D</p></footer>"
    assert place_detail(page, S, "") == f"<h1>x</h1><p>{S}</p><footer></footer>"


@pytest.mark.parametrize(
    ("page", "placed"),
    [
        (f"<main><p class=s>{S}</p><p>thanks</p></main>", f"<main><p class=s>{S}</p>D<p>thanks"),
        (f"<div><strong>{S}</strong> more</div>", f"<div><strong>{S}</strong>D more</div>"),
        (f"bare {S}", f"bare {S}D"),
        (
            f"<html><head><title>{S}</title></head><BODY class=x><h1>{S}</h1><p>x</p>",
            f"<html><head><title>{S}</title></head><BODY class=x><h1>{S}</h1>D<p>x</p>",
        ),
        (  # the body's tags are optional in HTML: the title still is no place for it
            f"<!doctype html><TITLE>{S}</TITLE><h1>{S}</h1><p>x</p>",
            f"<!doctype html><TITLE>{S}</TITLE><h1>{S}</h1>D<p>x</p>",
        ),
        (f"<title>{S}</title><p>only the title</p>", f"<title>{S}</title>D<p>only"),
    ],
)
def test_without_a_marker_the_detail_follows_the_element_holding_the_sentence(
    page: str, placed: str
) -> None:
    assert place_detail(page, S, "D").startswith(placed)
    assert place_detail(page, S, "") == page


def test_a_note_is_text_never_markup() -> None:
    block = detail_html('<script>alert("x")</script>', None, None)
    assert block == (
        '<p class="portal-gateway-message">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</p>'
    )
    assert detail_html(None, None, None) == "" and detail_html("", None, None) == ""


def test_the_return_time_is_shown_in_the_given_offset_default_utc() -> None:
    assert return_time(AT) == ("2027-01-15T08:01:30+00:00", "2027-01-15 08:01 UTC")
    assert return_time(AT, timedelta(hours=1)) == (
        "2027-01-15T09:01:30+01:00",
        "2027-01-15 09:01 +01:00",
    )
    assert return_time(AT, timedelta(hours=-5, minutes=-30))[1] == "2027-01-15 02:31 -05:30"
    assert "Expected back at <time" in detail_html(None, AT, None)
    assert rfc3339_utc(AT + 0.9) == "2027-01-15T08:01:30Z"


def test_the_page_and_the_json_are_built_once_per_distinct_detail() -> None:
    page = f"<p>{S}</p>{MARKER}"
    first = render_page(page, S, "note", AT)
    assert render_page(page, S, "note", AT) is first
    assert render_page(page, S, "other", AT) is not first
    assert render_json("note", None) is render_json("note", None)
    assert json.loads(render_json(None, None)) == {
        "error": "customer_portal_unavailable",
        "message": S,
    }


@pytest.mark.parametrize(
    ("retry_at", "now", "seconds"),
    [(None, 0.0, 120), (100.0, 0.0, 100), (100.0, 99.2, 1), (100.0, 500.0, 1), (10.5, 0.0, 11)],
)
def test_retry_after_counts_down_to_the_return_time(
    retry_at: float | None, now: float, seconds: int
) -> None:
    assert retry_after(retry_at, now, 120) == seconds
