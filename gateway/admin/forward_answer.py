"""The gate's decision, said the way each proxy in front can act on it. Pure: no aiohttp.

What the proxy must do on an allow: send the upstream exactly the Cookie line the gateway chose
(stale sessions and the gateway's stamp removed) and give the client the gateway's Set-Cookie
lines (the stamp, expiries). On a deny: answer the client with the gateway's status, page,
Retry-After, Cache-Control and Set-Cookie lines. Each proxy can carry these only in some ways:

- nginx (1.22) `auth_request` understands 2xx/401/403 only, keeps no answer body, and passes
  only the first of several same-named headers through `$upstream_http_*`: everything rides in
  distinct `X-Portal-Gateway-*` headers (Set-Cookie in numbered slots, the page on one line),
  which config/nginx-forward-auth.conf copies with `auth_request_set` / `add_header ... always`.
- Caddy copies a deny answer to the client as it is; on an allow its `handle_response` copies
  `Set-Cookie` to the client and `X-Portal-Gateway-Cookie` to the upstream's Cookie.
- Traefik copies a deny answer as it is; on an allow `authResponseHeaders: [Cookie]` replaces
  (or, when absent, removes) the upstream's Cookie and `addAuthCookiesToResponse` copies the
  Set-Cookie lines whose cookie names it lists.
- Envoy's HTTP ext_authz allows only on 200; `allowed_upstream_headers` sets the Cookie,
  `x-envoy-auth-headers-to-remove` removes it, `allowed_client_headers_on_success` adds Set-Cookie.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from gateway.config import Proxy

COOKIE = "X-Portal-Gateway-Cookie"
SET_COOKIE_SLOT = "X-Portal-Gateway-Set-Cookie-{}"
STATUS = "X-Portal-Gateway-Status"
BODY = "X-Portal-Gateway-Body"
SHADOW = "X-Portal-Gateway-Shadow"
CONTENT_TYPE = "X-Portal-Gateway-Content-Type"
# As many slots as config/nginx-forward-auth.conf copies; the stamp always takes the first.
NGINX_SET_COOKIE_SLOTS = 8

Header = tuple[str, str]


@dataclass(frozen=True)
class Answer:
    """The decision endpoint's HTTP answer."""

    status: int
    headers: tuple[Header, ...]
    body: bytes = b""
    dropped_set_cookies: int = 0  # nginx: lines beyond the slots its config copies


def _slots(set_cookies: Sequence[str], stamp_cookie: str) -> tuple[list[Header], int]:
    # The stamp first: losing an expiry only leaves a cookie the gateway strips anyway, losing
    # the stamp would make the next request's session look stale.
    ordered = sorted(set_cookies, key=lambda line: line.partition("=")[0].strip() != stamp_cookie)
    kept = ordered[:NGINX_SET_COOKIE_SLOTS]
    return [(SET_COOKIE_SLOT.format(i), line) for i, line in enumerate(kept, 1)], len(
        ordered
    ) - len(kept)


def allow(
    proxy: Proxy,
    upstream_cookie: str,
    set_cookies: Sequence[str],
    stamp_cookie: str,
    route: str,
    shadowed: str | None = None,
) -> Answer:
    """Allow; `upstream_cookie` is the whole Cookie line to send upstream ("" = none).

    `shadowed` (shadow mode): why enforcing would have refused, in `X-Portal-Gateway-Shadow`
    for the proxy's own access log (nginx: `$upstream_http_x_portal_gateway_shadow`).
    """
    headers: list[Header] = [("Cache-Control", "no-store"), ("X-Portal-Gateway-Route", route)]
    if shadowed is not None:
        headers.append((SHADOW, shadowed))
    dropped = 0
    if proxy in ("nginx", "caddy"):
        if upstream_cookie:
            # Caddy's response matcher picks the `handle_response` that sets the Cookie by this
            # header's presence; without it (nginx: an empty variable) no Cookie is sent.
            headers.append((COOKIE, upstream_cookie))
    elif upstream_cookie:
        headers.append(("Cookie", upstream_cookie))
    elif proxy == "envoy":
        headers.append(("x-envoy-auth-headers-to-remove", "cookie"))
    headers.extend(("Set-Cookie", line) for line in set_cookies)
    if proxy == "nginx":
        slots, dropped = _slots(set_cookies, stamp_cookie)
        headers.extend(slots)
    # Envoy treats anything but 200 as a deny; the others take 204 (no body to read).
    return Answer(200 if proxy == "envoy" else 204, tuple(headers), b"", dropped)


# A header value cannot hold a line break; in HTML outside <pre>, <textarea> and scripts a
# space renders the same (README: "Behind another proxy"). Line breaks and tabs become spaces,
# the other control characters below a space are dropped.
_ONE_LINE = {code: (" " if chr(code) in "\r\n\t" else None) for code in range(ord(" "))}


@lru_cache(maxsize=64)
def _one_line(body: bytes) -> str:
    # Once per page (its language, staff's message, retry time): the unavailable page is the
    # same bytes for every deny until one of those changes, and a pure function of them.
    return body.decode("utf-8", errors="replace").translate(_ONE_LINE)


def deny(
    proxy: Proxy,
    status: int,
    headers: Sequence[Header],
    body: bytes,
    stamp_cookie: str,
    deny_status: int | None = None,
) -> Answer:
    """Deny with the gateway's own answer (`status`, `headers` incl. Set-Cookie, `body`).

    `deny_status` (401 or 403, from `?deny_status=`) replaces the status for proxies that only
    understand those; the original status then travels in X-Portal-Gateway-Status for nginx.
    """
    out = list(headers)
    dropped = 0
    if proxy == "nginx":
        set_cookies = [v for k, v in headers if k.lower() == "set-cookie"]
        content_type = next((v for k, v in headers if k.lower() == "content-type"), "text/plain")
        slots, dropped = _slots(set_cookies, stamp_cookie)
        out.extend(slots)
        # nginx's `return` takes no variable status: the config has one `return` per status it
        # knows (400, 404, 421, 503) and answers any other with 403.
        out.append((STATUS, str(status)))
        out.append((CONTENT_TYPE, content_type))
        out.append((BODY, _one_line(body)))
        # nginx reads the page from BODY and never the body of an auth answer; it keeps its
        # connection to the gateway only for an answer without one (Content-Length: 0), so a
        # body here would cost a new TCP connection per deny. The others pass the body on.
        body = b""
    return Answer(deny_status or status, tuple(out), body, dropped)
