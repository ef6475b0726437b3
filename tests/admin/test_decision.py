"""/_gateway/decision asked exactly as each proxy asks it, and answered as each can act on it.

nginx and Caddy are also run for real (tests/behaviour/test_forward_auth_proxies.py); Traefik and Envoy,
whose binaries are not packaged by Debian, are sent the request their documentation says they
send, and the answer is checked for what they would do with it.
"""

from __future__ import annotations

import logging

import aiohttp
import pytest

from tests.conftest import Gateway, StartGateway, StartUpstream

MESSAGE = "Our Customer Portal is currently unavailable. Please check back later."
EXPIRED = "Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/"


def front(proxy: str, trusted: str = "127.0.0.1/32") -> str:
    return f"forward_auth:\n  proxy: {proxy}\nproxy:\n  trusted_proxies: [{trusted}]\n"


async def ask(
    gw: Gateway, path: str = "/_gateway/decision", method: str = "GET", **headers: str
) -> tuple[aiohttp.ClientResponse, str]:
    async with gw.client.request(method, path, headers=headers) as resp:
        return resp, await resp.text()


def nginx(uri: str, method: str = "GET", **extra: str) -> dict[str, str]:
    # What config/nginx-forward-auth.conf sets on the auth subrequest.
    return {
        "X-Original-Method": method,
        "X-Original-URI": uri,
        "X-Forwarded-Host": "portal.example",
        "X-Real-IP": "203.0.113.7",
        "X-Forwarded-Proto": "https",
        **extra,
    }


def traefik(uri: str, method: str = "GET", **client: str) -> dict[str, str]:
    # https://doc.traefik.io/traefik/middlewares/http/forwardauth/ "Forward-Request Headers":
    # the client's headers, then X-Forwarded-Method/-Proto/-Host/-Uri/-For set from the request
    # (pkg/middlewares/auth/forward.go writeHeader, trustForwardHeader: false).
    return {
        **client,
        "X-Forwarded-For": "203.0.113.7",
        "X-Forwarded-Method": method,
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "portal.example",
        "X-Forwarded-Uri": uri,
    }


async def test_only_a_trusted_peer_of_a_named_proxy_is_believed(
    upstream: StartUpstream, gateway: StartGateway, caplog: pytest.LogCaptureFixture
) -> None:
    up = await upstream()
    caplog.set_level(logging.WARNING, "gateway.decision")
    unset = await gateway(up.url, "proxy:\n  trusted_proxies: [127.0.0.1/32]\n")
    resp, _ = await ask(unset, **nginx("/office"))
    assert (resp.status, resp.headers["Cache-Control"]) == (403, "no-store")
    assert "forward_auth.proxy is not set" in caplog.text
    caplog.clear()
    elsewhere = await gateway(up.url, front("nginx", "10.0.0.0/8"))
    resp, _ = await ask(elsewhere, **nginx("/office"))
    assert (resp.status, resp.headers["Cache-Control"]) == (403, "no-store")
    assert "forward-auth request from 127.0.0.1, not in proxy.trusted_proxies" in caplog.text
    assert up.seen == []


async def test_nginx_gets_everything_in_distinct_headers(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url, front("nginx"))
    cookie = {"Cookie": "portal_session=a; theme=dark"}
    resp, body = await ask(gw, "/_gateway/decision?deny_status=403", **nginx("/pay", **cookie))
    assert (resp.status, body) == (204, "")
    assert resp.headers["X-Portal-Gateway-Cookie"] == "portal_session=a; theme=dark"
    await gw.set_enabled(False)
    resp, body = await ask(
        gw, "/_gateway/decision?deny_status=403", **nginx("/pay", "POST", **cookie)
    )
    # auth_request understands 403; the gateway's own answer rides along for error_page.
    assert resp.status == 403
    assert resp.headers["X-Portal-Gateway-Status"] == "503"
    assert resp.headers["X-Portal-Gateway-Content-Type"] == "text/html; charset=utf-8"
    assert resp.headers["X-Portal-Gateway-Set-Cookie-1"] == f"portal_session=; {EXPIRED}"
    assert "X-Portal-Gateway-Set-Cookie-2" not in resp.headers
    assert resp.headers["Retry-After"] == "120"
    page = resp.headers["X-Portal-Gateway-Body"]
    assert MESSAGE in page and "\n" not in page
    # Without a body nginx keeps its connection to the gateway (it reads the page above).
    assert (resp.headers["Content-Length"], body) == ("0", "")
    # Office: allowed, the Cookie line unchanged.
    resp, _ = await ask(gw, **nginx("/office/families", **cookie))
    assert resp.status == 204
    assert resp.headers["X-Portal-Gateway-Cookie"] == "portal_session=a; theme=dark"
    resp, _ = await ask(gw, **nginx("/office/families"))
    assert "X-Portal-Gateway-Cookie" not in resp.headers  # no Cookie for the portal at all


async def test_traefik_request_as_documented(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url, front("traefik"))
    resp, _ = await ask(gw, **traefik("/pay?x=1", Cookie="portal_session=a"))
    # authResponseHeaders: [Cookie] replaces the portal's Cookie with this one.
    assert (resp.status, resp.headers["Cookie"]) == (204, "portal_session=a")
    # addAuthCookiesToResponse: [portal_gateway_stamp, ...] hands the stamp to the browser.
    assert [c.split("=")[0] for c in resp.headers.getall("Set-Cookie")] == ["portal_gateway_stamp"]
    await gw.set_enabled(False)
    # Traefik passes the client's headers too: an nginx-family header is the client's word.
    resp, body = await ask(
        gw,
        **traefik("/pay", Cookie="portal_session=a", **{"X-Original-URI": "/office/families"}),
    )
    # A non-2xx answer is what Traefik returns to the client, headers and body as they are.
    assert (resp.status, resp.headers["Retry-After"]) == (503, "120")
    assert resp.headers.getall("Set-Cookie") == [f"portal_session=; {EXPIRED}"]
    assert MESSAGE in body
    resp, _ = await ask(gw, "/_gateway/decision?deny_status=401", **traefik("/pay"))
    assert resp.status == 401  # a fixed address: the query is Traefik's config, not the client's
    resp, _ = await ask(gw, **traefik("/office/x", **{"X-Forwarded-Uri": "/pay"}))
    assert resp.status == 204


async def test_envoy_check_request_as_documented(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    # https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/http/ext_authz/v3/ext_authz.proto
    # HttpService: the check is the original method and `path_prefix` + the original path, with
    # the original Host, Content-Length: 0 and the headers in allowed_headers
    # (config/envoy-ext-authz.yaml: cookie, x-forwarded-for, x-forwarded-proto, accept...).
    up = await upstream()
    gw = await gateway(up.url, front("envoy"))

    async def check(method: str, path: str, **headers: str) -> tuple[aiohttp.ClientResponse, str]:
        sent = {"Host": "portal.example", "Content-Length": "0", **headers}
        sent.setdefault("x-forwarded-for", "6.6.6.6, 203.0.113.7")
        return await ask(gw, f"/_gateway/decision{path}", method, **sent)

    resp, _ = await check("POST", "/pay?amount=10", cookie="portal_session=a")
    # Only 200 allows; allowed_upstream_headers: cookie sets the portal's Cookie.
    assert (resp.status, resp.headers["Cookie"]) == (200, "portal_session=a")
    # allowed_client_headers_on_success: set-cookie hands the stamp to the browser.
    assert [c.split("=")[0] for c in resp.headers.getall("Set-Cookie")] == ["portal_gateway_stamp"]
    resp, _ = await check("GET", "/")
    assert (resp.status, resp.headers["x-envoy-auth-headers-to-remove"]) == (200, "cookie")
    await gw.set_enabled(False)
    # The query is the client's: it cannot choose the deny status.
    resp, body = await check("PUT", "/pay?deny_status=403", cookie="portal_session=a")
    assert (resp.status, resp.headers["Retry-After"]) == (503, "120")
    assert resp.headers.getall("Set-Cookie") == [f"portal_session=; {EXPIRED}"]
    assert MESSAGE in body
    resp, _ = await check("DELETE", "/office/families/1")
    assert resp.status == 200
    # The original path as the client sent it, escapes included, is Envoy's to append.
    resp, _ = await check("GET", "/office/a%20b")
    assert resp.status == 200
    resp, _ = await check("GET", "/enroll%20now")
    assert resp.status == 503
    resp, _ = await check("GET", "", **{"X-Original-URI": "/office"})
    assert resp.status == 400  # a check without the original path: misconfigured path_prefix


@pytest.mark.parametrize(
    "headers",
    [
        [("X-Original-URI", "/office"), ("X-Original-URI", "/pay")],
        [("X-Original-Method", "GET"), ("X-Original-Method", "POST")],
        [("X-Forwarded-Host", "office.example, portal.example")],
        [("X-Real-IP", "127.0.0.1, 6.6.6.6")],
        [("X-Forwarded-Proto", "https, http")],
    ],
    ids=["two-uris", "two-methods", "host-list", "ip-list", "proto-list"],
)
async def test_two_values_within_the_family_deny(
    upstream: StartUpstream, gateway: StartGateway, headers: list[tuple[str, str]]
) -> None:
    up = await upstream()
    gw = await gateway(up.url, front("nginx"))
    base = [(k, v) for k, v in nginx("/pay").items() if k not in {n for n, _ in headers}]
    async with gw.client.get("/_gateway/decision", headers=[*base, *headers]) as resp:
        assert (resp.status, resp.headers["Cache-Control"]) == (400, "no-store")


async def test_ambiguous_targets_are_denied_not_allowed(
    upstream: StartUpstream, gateway: StartGateway
) -> None:
    up = await upstream()
    gw = await gateway(up.url, front("nginx"))
    for uri in ("/office/../pay", "//office", "/office%2F..%2Fpay"):
        resp, _ = await ask(gw, **nginx(uri))
        assert resp.status == 400, uri
    resp, _ = await ask(gw, "/_gateway/decision?deny_status=403", **nginx("/office/../pay"))
    assert (resp.status, resp.headers["X-Portal-Gateway-Status"]) == (403, "400")
    assert up.seen == []  # the decision never touches the upstream
