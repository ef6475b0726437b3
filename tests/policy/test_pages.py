"""The gateway's own pages as values: status, type, body and headers, by Accept."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import replace
from datetime import timedelta

import pytest

from gateway.config import UNAVAILABLE_MESSAGE, CustomerPortalConfig, config_from_text
from gateway.policy.decision import Deny
from gateway.policy.detail import MARKER, detail_html, place_detail, render_json, retry_after
from gateway.policy.facts import GateState
from gateway.policy.pages import (
    MESSAGES,
    Page,
    deny_page,
    error_page,
    page_language,
    unavailable_page,
)
from gateway.wire.negotiate import wants_json
from tests.conftest import config_text

PORTAL = config_from_text(config_text("http://127.0.0.1:8081"), "t.yaml").customer_portal
EXPIRY = "portal_session=; Max-Age=0; Path=/"


def test_an_error_page_in_html_names_the_status_and_the_request() -> None:
    page = error_page(404, "rid1", "text/html")
    assert (page.status, page.content_type, page.close) == (404, "text/html", False)
    assert page.headers == (("Cache-Control", "no-store"), ("X-Request-ID", "rid1"))
    assert "<title>404 Not Found</title>" in page.text
    assert f"<p>{MESSAGES[404]}</p>" in page.text
    assert "<code>request rid1</code>" in page.text


def test_an_error_page_in_json_for_clients_that_prefer_it() -> None:
    page = error_page(502, "rid2", "application/json", close=True)
    assert (page.content_type, page.close) == ("application/json", True)
    assert json.loads(page.text) == {
        "error": "bad_gateway",
        "message": MESSAGES[502],
        "request_id": "rid2",
    }


def test_a_message_is_escaped_and_an_unlisted_status_says_its_phrase() -> None:
    page = error_page(400, "r", "", message="<script>x</script>")
    assert "&lt;script&gt;x&lt;/script&gt;" in page.text and "<script>" not in page.text
    assert "<p>I&#x27;m a Teapot</p>" in error_page(418, "r", "").text


OFF = GateState(enabled=False, last_disabled_at=None)
NOW = 1_800_000_000.0


def test_the_unavailable_page_is_503_with_retry_after_and_the_given_expiries() -> None:
    page = unavailable_page(PORTAL, OFF, NOW, "text/html", "", [EXPIRY], close=True)
    assert (page.status, page.content_type, page.text, page.close) == (
        503,
        "text/html",
        PORTAL.unavailable_html.replace(MARKER, ""),
        True,
    )
    assert page.headers == (
        ("Retry-After", "120"),
        ("Cache-Control", "no-store"),
        ("Vary", "Accept, Accept-Language"),
        ("Content-Language", "en"),
        ("Set-Cookie", EXPIRY),
    )
    as_json = unavailable_page(PORTAL, OFF, NOW, "application/json", close=False)
    assert json.loads(as_json.text) == {
        "error": "customer_portal_unavailable",
        "message": UNAVAILABLE_MESSAGE,
    }
    assert ("Content-Language", "en") in as_json.headers


def test_a_note_and_a_return_time_reach_the_page_json_and_retry_after() -> None:
    state = replace(OFF, message="Billing <b>run</b> & co", retry_at=NOW + 90.4)
    page = unavailable_page(PORTAL, state, NOW, "text/html", close=False)
    assert UNAVAILABLE_MESSAGE in page.text
    assert "Billing &lt;b&gt;run&lt;/b&gt; &amp; co" in page.text and "<b>" not in page.text
    assert '<time datetime="2027-01-15T08:01:30+00:00">2027-01-15 08:01 UTC</time>' in page.text
    assert page.headers[0] == ("Retry-After", "91")  # rounded up: never early
    as_json = unavailable_page(PORTAL, state, NOW, "application/json", close=False)
    assert json.loads(as_json.text) == {
        "error": "customer_portal_unavailable",
        "message": UNAVAILABLE_MESSAGE,
        "message_detail": "Billing <b>run</b> & co",
        "retry_at": "2027-01-15T08:01:30Z",
    }
    local = replace(state, retry_offset=timedelta(hours=1))
    shown = unavailable_page(PORTAL, local, NOW, "text/html", close=False)
    assert '<time datetime="2027-01-15T09:01:30+01:00">2027-01-15 09:01 +01:00</time>' in (
        shown.text
    )
    late = unavailable_page(PORTAL, state, NOW + 500, "application/json", close=False)
    assert late.headers[0] == ("Retry-After", "1")


def test_a_localised_page_is_chosen_by_accept_language() -> None:
    fr = "Notre portail est indisponible."
    portal = dataclasses.replace(
        PORTAL, sentences={"fr": fr}, localised_html={"fr": f"<main><p>{fr}</p></main>"}
    )
    state = replace(OFF, message="Retour bientôt")
    page = unavailable_page(portal, state, NOW, "text/html", "fr-CA, en;q=0.5", close=False)
    assert page.text == (
        f'<main><p>{fr}</p><p class="portal-gateway-message">Retour bientôt</p></main>'
    )
    assert ("Content-Language", "fr") in page.headers
    english = unavailable_page(portal, state, NOW, "text/html", "de", close=False)
    assert ("Content-Language", "en") in english.headers and UNAVAILABLE_MESSAGE in english.text


def test_a_deny_page_carries_its_request_id_and_cookie_expiries() -> None:
    unavailable = deny_page(
        Deny(503, "customer_disabled", "unavailable", (EXPIRY,), close=True),
        PORTAL,
        "r9",
        OFF,
        NOW,
        "",
    )
    assert unavailable.status == 503 and unavailable.close
    assert unavailable.headers[-2:] == (("Set-Cookie", EXPIRY), ("X-Request-ID", "r9"))
    refused = deny_page(Deny(421, "refused_421", "error", (EXPIRY,)), PORTAL, "r8", OFF, NOW, "")
    assert refused.status == 421 and "421 Misdirected Request" in refused.text
    assert refused.headers == (
        ("Cache-Control", "no-store"),
        ("X-Request-ID", "r8"),
        ("Set-Cookie", EXPIRY),
    )


@pytest.mark.parametrize(
    "retry_at", [math.inf, -math.inf, math.nan, 1e20, 253_402_300_800.0, -1e20], ids=repr
)
def test_a_return_time_no_calendar_can_show_is_no_return_time(retry_at: float) -> None:
    # The page is the answer of a refusal: whatever reaches the state's return time, the
    # customer gets the unavailable page (never a 500 and its traceback), without a time.
    state = replace(OFF, message="note", retry_at=retry_at)
    page = unavailable_page(PORTAL, state, NOW, "text/html", close=False)
    assert page.status == 503 and UNAVAILABLE_MESSAGE in page.text
    assert "portal-gateway-retry" not in page.text and "note" in page.text
    assert page.headers[0] == ("Retry-After", "120")
    as_json = unavailable_page(PORTAL, state, NOW, "application/json", close=False)
    assert json.loads(as_json.text)["message_detail"] == "note"
    assert "retry_at" not in json.loads(as_json.text)
    assert as_json.headers[0] == ("Retry-After", "120")


def _per_request_unavailable(
    portal: CustomerPortalConfig,
    state: GateState,
    now: float,
    accept: str,
    language_header: str,
    cookies: tuple[str, ...],
    close: bool,
) -> Page:
    """The unavailable page as it was built before its fixed parts were reused: the reference."""
    headers = [
        ("Retry-After", str(retry_after(state.retry_at, now, portal.retry_after))),
        ("Cache-Control", "no-store"),
        ("Vary", "Accept, Accept-Language"),
    ]
    if wants_json(accept):
        headers.append(("Content-Language", "en"))
        headers += [("Set-Cookie", line) for line in cookies]
        return Page(503, "application/json", render_json(state.message, state.retry_at),
                    tuple(headers), close)  # fmt: skip
    language = page_language(portal, language_header)
    headers.append(("Content-Language", language))
    headers += [("Set-Cookie", line) for line in cookies]
    page = portal.localised_html.get(language, portal.unavailable_html)
    sentence = portal.sentences.get(language, UNAVAILABLE_MESSAGE)
    place = place_detail(
        page, sentence, detail_html(state.message, state.retry_at, state.retry_offset)
    )
    return Page(503, "text/html", place, tuple(headers), close)  # fmt: skip


def test_the_reused_unavailable_page_equals_the_one_built_per_request() -> None:
    # Across notes, languages, return times, offsets, states, forms, cookies and clocks, the
    # page whose fixed parts are reused is the page built from scratch, header for header.
    fr = "Notre portail est indisponible."
    localised = dataclasses.replace(
        PORTAL, sentences={"fr": fr}, localised_html={"fr": f"<main><p>{fr}</p></main>"}
    )
    states = [
        OFF,
        replace(OFF, message="Back at 9 <b>sharp</b>"),
        replace(OFF, retry_at=NOW + 3600),
        replace(OFF, message="Retour bientôt", retry_at=NOW + 90, retry_offset=timedelta(hours=2)),
        replace(OFF, enabled=True, preview_generation=3),
    ]
    seen = set()
    for _ in range(2):  # the second pass is answered from the caches
        for portal in (PORTAL, localised):
            for state in states:
                for accept in ("text/html", "application/json", "*/*", "application/json;q=0.1"):
                    for language in ("", "fr-CA, en;q=0.5", "de"):
                        for cookies in ((), ("a=; Max-Age=0", "b=; Max-Age=0")):
                            for now in (NOW, NOW + 7200):
                                args = (portal, state, now, accept, language, cookies)
                                got = unavailable_page(*args, close=bool(cookies))
                                assert got == _per_request_unavailable(*args, bool(cookies))
                                seen.add(got.text)
    assert len(seen) > 10
