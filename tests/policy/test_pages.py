"""The gateway's own pages as values: status, type, body and headers, by Accept."""

from __future__ import annotations

import json

from gateway.config import UNAVAILABLE_MESSAGE, parse_config
from gateway.policy.decision import Deny
from gateway.policy.pages import MESSAGES, deny_page, error_page, unavailable_page
from tests.conftest import config_text

PORTAL = parse_config(config_text("http://127.0.0.1:8081"), "t.yaml").customer_portal
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


def test_the_unavailable_page_is_503_with_retry_after_and_the_given_expiries() -> None:
    page = unavailable_page(PORTAL, "text/html", [EXPIRY], close=True)
    assert (page.status, page.content_type, page.text, page.close) == (
        503,
        "text/html",
        PORTAL.unavailable_html,
        True,
    )
    assert page.headers == (
        ("Retry-After", "120"),
        ("Cache-Control", "no-store"),
        ("Vary", "Accept"),
        ("Set-Cookie", EXPIRY),
    )
    as_json = unavailable_page(PORTAL, "application/json", (), close=False)
    assert json.loads(as_json.text) == {
        "error": "customer_portal_unavailable",
        "message": UNAVAILABLE_MESSAGE,
    }


def test_a_deny_page_carries_its_request_id_and_cookie_expiries() -> None:
    unavailable = deny_page(
        Deny(503, "customer_disabled", "unavailable", (EXPIRY,), close=True), PORTAL, "r9", ""
    )
    assert unavailable.status == 503 and unavailable.close
    assert unavailable.headers[-2:] == (("Set-Cookie", EXPIRY), ("X-Request-ID", "r9"))
    refused = deny_page(Deny(421, "refused_421", "error", (EXPIRY,)), PORTAL, "r8", "")
    assert refused.status == 421 and "421 Misdirected Request" in refused.text
    assert refused.headers == (
        ("Cache-Control", "no-store"),
        ("X-Request-ID", "r8"),
        ("Set-Cookie", EXPIRY),
    )
