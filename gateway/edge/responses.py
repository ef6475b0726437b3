"""Answers the gateway gives itself: small self-contained pages or JSON, by content negotiation."""

from __future__ import annotations

import html
import json
from http import HTTPStatus

from aiohttp import web

from gateway.wire.negotiate import wants_json as prefers_json

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


def wants_json(request: web.BaseRequest) -> bool:
    """True when the client prefers JSON to HTML (see gateway.policy.negotiate)."""
    return prefers_json(request.headers.get("Accept", ""))


def error_response(
    request: web.BaseRequest,
    status: int,
    request_id: str,
    *,
    message: str | None = None,
    close: bool = False,
) -> web.Response:
    phrase = HTTPStatus(status).phrase
    text = message or MESSAGES.get(status, phrase)
    if wants_json(request):
        body = json.dumps(
            {"error": phrase.lower().replace(" ", "_"), "message": text, "request_id": request_id}
        )
        response = web.Response(status=status, text=body, content_type="application/json")
    else:
        page = _PAGE.format(
            status=status,
            phrase=html.escape(phrase),
            message=html.escape(text),
            request_id=request_id,
        )
        response = web.Response(status=status, text=page, content_type="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Request-ID"] = request_id
    if close:
        # The request body was not read: the connection cannot carry another request.
        response.force_close()
    return response
