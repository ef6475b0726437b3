"""The gateway's own answers as values: status, type, body and headers, by content negotiation.

Pure, so both front ends (the proxy in `edge/`, forward-auth in `admin/`) render a refusal
identically and only wrap the page in their framework's response object.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from http import HTTPStatus

from gateway.config import UNAVAILABLE_MESSAGE, CustomerPortalConfig
from gateway.policy.decision import Deny
from gateway.policy.detail import known_return, render_json, render_page, retry_after
from gateway.policy.facts import GateState
from gateway.wire.language import choose_language
from gateway.wire.negotiate import wants_json

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{status} {phrase}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;color:#1a1a1a;background:#fff;margin:0;padding:2rem}}
main{{max-width:36rem;margin:10vh auto}}h1{{font-size:1.5rem}}code{{color:#444}}</style>
</head><body><main><h1>{status} {phrase}</h1><p>{message}</p>
<p><code>request {request_id}</code></p></main></body></html>
"""

MESSAGES = {
    400: "The request could not be understood.",
    404: "No route serves this address.",
    405: "This method is not allowed here.",
    413: "The request body is larger than this service accepts.",
    414: "The request address is too long.",
    421: "This service does not answer for that host name.",
    431: "The request headers are too large.",
    502: "The service behind this gateway could not be reached.",
    501: "This request framing is not supported.",
    500: "The gateway could not handle this request; it was not forwarded.",
    504: "The service behind this gateway did not answer in time.",
    505: "This HTTP version is not served.",
    508: "This request has already passed through this gateway (loop).",
}

DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class Page:
    """One answer of the gateway's own: what any front end sends for it."""

    status: int
    content_type: str
    text: str
    headers: tuple[tuple[str, str], ...] = ()
    close: bool = False  # the request body was not read: the connection cannot be reused


def error_page(
    status: int, request_id: str, accept: str, *, message: str | None = None, close: bool = False
) -> Page:
    phrase = HTTPStatus(status).phrase
    text = message or MESSAGES.get(status, phrase)
    headers = (("Cache-Control", "no-store"), ("X-Request-ID", request_id))
    if wants_json(accept):
        body = json.dumps(
            {"error": phrase.lower().replace(" ", "_"), "message": text, "request_id": request_id}
        )
        return Page(status, "application/json", body, headers, close)
    page = _PAGE.format(
        status=status, phrase=html.escape(phrase), message=html.escape(text), request_id=request_id
    )
    return Page(status, "text/html", page, headers, close)


def page_language(portal: CustomerPortalConfig, accept_language: str) -> str:
    """The page language the client prefers among English and `customer_portal.sentences`."""
    if not portal.localised_html:
        return DEFAULT_LANGUAGE
    return choose_language(accept_language, portal.localised_html, DEFAULT_LANGUAGE)


def unavailable_page(
    portal: CustomerPortalConfig,
    state: GateState,
    now: float,
    accept: str,
    accept_language: str = "",
    set_cookies: Iterable[str] = (),
    *,
    close: bool,
) -> Page:
    """503 with Retry-After, no-store, the page (in the client's language) or JSON, staff's
    note and the expected return from `state`, and the given cookie expiries.

    `now` is the wall clock (Retry-After counts down to `state.retry_at`); the return time is
    shown in `state.retry_offset` (a schedule's own; default UTC).
    """
    retry_at = known_return(state.retry_at)
    # Only Retry-After (it counts down) and the cookie expiries are per request; the text and
    # the other headers are built once per language (rendered once in gateway/policy/detail.py).
    retry = ("Retry-After", str(retry_after(retry_at, now, portal.retry_after)))
    cookies = tuple(("Set-Cookie", line) for line in set_cookies)
    if wants_json(accept):
        # The JSON message is the English sentence whatever the client's languages.
        body = render_json(state.message, retry_at)
        return Page(
            503, "application/json", body, (retry, *_fixed(DEFAULT_LANGUAGE), *cookies), close
        )
    language = page_language(portal, accept_language)
    page = portal.localised_html.get(language, portal.unavailable_html)
    sentence = portal.sentences.get(language, UNAVAILABLE_MESSAGE)
    text = render_page(page, sentence, state.message, retry_at, state.retry_offset)
    return Page(503, "text/html", text, (retry, *_fixed(language), *cookies), close)


@lru_cache(maxsize=64)
def _fixed(language: str) -> tuple[tuple[str, str], ...]:
    """The unavailable answer's headers that never change for one language."""
    return (
        ("Cache-Control", "no-store"),
        ("Vary", "Accept, Accept-Language"),
        ("Content-Language", language),
    )


def deny_page(
    deny: Deny,
    portal: CustomerPortalConfig,
    request_id: str,
    state: GateState,
    now: float,
    accept: str,
    accept_language: str = "",
) -> Page:
    """The page a Deny answers with (forward-auth may still map its status for its proxy)."""
    if deny.body == "unavailable":
        page = unavailable_page(
            portal, state, now, accept, accept_language, deny.set_cookies, close=deny.close
        )
        return Page(
            page.status,
            page.content_type,
            page.text,
            (*page.headers, ("X-Request-ID", request_id)),
            page.close,
        )
    page = error_page(deny.status, request_id, accept, close=deny.close)
    cookies = tuple(("Set-Cookie", line) for line in deny.set_cookies)
    return Page(page.status, page.content_type, page.text, page.headers + cookies, page.close)
