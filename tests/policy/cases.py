"""The gate's behaviour table: one list of cases, run against the pure core and both front ends.

Each case is a request (method, target, host, cookies), a portal state, and the decision the
gate must reach: allow or deny, its reason, the session cookies it expires in the browser and
the ones it withholds from the upstream. `proxy_only` marks facts a proxy in front never
transmits (HTTP version, framing), which only the proxy front end can be asked about.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.config import Config, config_from_text
from gateway.policy import Allow, Decision, Deny
from gateway.policy.preview import PreviewCodec
from gateway.policy.stamps import Stamp, StampCodec
from tests.conftest import SESSION_KEY, config_text

NOW = 1_700_000_000.0
DISABLED_AT = NOW - 3600  # the most recent disable, an hour ago
BEFORE = DISABLED_AT - 60  # a session stamped before it
AFTER = DISABLED_AT + 60  # a session stamped since

ROUTES = """\
routes:
  - name: public
    paths: [/public, /favicon.ico]
    upstream: portal
    portal: public
  - name: office
    paths: [/office, /api/office]
    upstream: portal
    portal: office
  - name: office-host
    paths: [/]
    hosts: [office.example.com]
    upstream: portal
    portal: office
  - name: customer
    paths: [/]
    upstream: portal
    portal: customer
"""

EXTRA = """\
server_names: [portal.example.com, office.example.com, "127.0.0.1", localhost]
"""


SHARED = "  shared_session_cookies: [sessionid]\n  allow_while_disabled: [198.51.100.0/24]\n"
STAFF_IP = "198.51.100.7"  # in the table's staff network
CUSTOMER_IP = "192.0.2.44"  # in none


def portal_yaml(mode: str = "enforce") -> str:
    """The table's `customer_portal` additions, in the case's mode."""
    return SHARED + f"  mode: {mode}\n"


def table_config(
    upstream_url: str = "http://127.0.0.1:1", extra: str = "", mode: str = "enforce"
) -> Config:
    text = config_text(upstream_url, EXTRA + extra, routes=ROUTES, portal=portal_yaml(mode))
    return config_from_text(text, "table.yaml")


def stamp_value(bound: dict[str, tuple[str, float]], issued_at: float | None = None) -> str:
    """A stamp cookie as the gateway would have issued it (the test key, real encryption)."""
    codec = StampCodec(SESSION_KEY.encode(), "portal_gateway_stamp")
    stamp = Stamp(
        bound={n: {"h": codec.digest(n, v), "t": t} for n, (v, t) in bound.items()},
        issued_at=issued_at,
    )
    return codec.dump(stamp, NOW - 10)


def preview_value(kind: str) -> str:
    """A preview cookie as a link would have set it: `valid`, `expired`, `tampered` (its
    expiry moved later, the MAC kept) or `revoked` (valid, of generation 0: the case's state
    has generation 1)."""
    codec = PreviewCodec(SESSION_KEY.encode())
    if kind == "expired":
        return codec.issue(NOW - 1, 0)
    token = codec.issue(NOW + 3600, 0)
    if kind == "tampered":
        _, _, generation, mac = token.split(".")
        return f"p1.{int(NOW) + 400 * 24 * 3600}.{generation}.{mac}"
    return token


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    target: str
    expect: str  # "allow ROUTE" or "deny STATUS"
    reason: str
    host: str = "portal.example.com"
    cookie: str = ""
    enabled: bool = True
    disabled_at: float | None = None
    expired: tuple[str, ...] = ()  # cookie names expired in the browser
    withheld: tuple[str, ...] = ()  # cookie names kept from the upstream
    proxy_only: bool = False
    stamp: dict[str, tuple[str, float]] | None = None
    stamp_issued: float | None = None
    extra: dict[str, str] = field(default_factory=dict)
    client: str = ""  # the real client address (sent as a trusted proxy's X-Forwarded-For)
    preview: str = ""  # a preview cookie: valid, expired, tampered or revoked
    generation: int = 0  # the state's preview generation
    mode: str = "enforce"  # customer_portal.mode

    def cookie_header(self) -> str:
        parts = [self.cookie] if self.cookie else []
        if self.preview:
            parts.append(f"portal_gateway_preview={preview_value(self.preview)}")
        if self.stamp is not None or self.stamp_issued is not None:
            parts.append(f"portal_gateway_stamp={stamp_value(self.stamp or {}, self.stamp_issued)}")
        return "; ".join(parts)


def outcome(decision: Decision) -> tuple[str, str, tuple[str, ...], tuple[str, ...]]:
    """What every front end must agree on: verdict, reason, expired and withheld names."""
    if isinstance(decision, Deny):
        verdict = f"deny {decision.status}"
        expire_lines = decision.set_cookies
        withheld: tuple[str, ...] = ()
    else:
        assert isinstance(decision, Allow)
        verdict = f"allow {decision.route.name}"
        expire_lines = decision.set_cookies
        withheld = tuple(n for n in decision.withheld if n != "portal_gateway_stamp")
    expired = tuple(
        dict.fromkeys(line.split("=", 1)[0] for line in expire_lines if "Max-Age=0" in line)
    )
    return verdict, decision.reason, expired, withheld


S = "portal_session=s1"
CASES = [
    # -- routing: paths, hosts, methods, server names -------------------------------------
    Case("customer-home", "GET", "/", "allow customer", "forwarded"),
    Case("office-path", "GET", "/office/families", "allow office", "forwarded"),
    Case("office-api", "POST", "/api/office/pay", "allow office", "forwarded"),
    Case("public-asset", "GET", "/public/app.css", "allow public", "forwarded"),
    Case("favicon-public", "GET", "/favicon.ico", "allow public", "forwarded", enabled=False),
    Case("segment-prefix", "GET", "/publicity", "allow customer", "forwarded"),
    Case(
        "office-host",
        "GET",
        "/enroll",
        "allow office-host",
        "forwarded",
        host="Office.Example.com.",
    ),
    Case(
        "office-host-port",
        "GET",
        "/",
        "allow office-host",
        "forwarded",
        host="office.example.com:8080",
    ),
    Case("unknown-host", "GET", "/", "deny 421", "refused_421", host="evil.example.net"),
    Case("bad-host", "GET", "/", "deny 400", "refused_400", host="a b"),
    Case("dot-segments", "GET", "/office/../pay", "deny 400", "refused_400"),
    Case("encoded-slash", "GET", "/office%2F..%2Fpay", "deny 400", "refused_400"),
    Case("double-slash", "GET", "//office", "deny 400", "refused_400"),
    Case("case-office", "GET", "/OFFICE/x", "allow office", "forwarded"),
    Case("encoded-office", "GET", "/%6Fffice/x", "allow office", "forwarded"),
    Case("trace", "TRACE", "/", "deny 405", "refused_405"),
    Case("reserved-case", "GET", "/_GATEWAY/metrics", "deny 404", "refused_404"),
    Case("reserved-encoded", "GET", "/%5Fgateway/metrics", "deny 404", "refused_404"),
    Case("absolute-form", "GET", "http://portal.example.com/pay", "allow customer", "forwarded"),
    Case("absolute-disagrees", "GET", "http://office.example.com/x", "deny 400", "refused_400"),
    # -- the portal switch -----------------------------------------------------------------
    Case("disabled-home", "GET", "/", "deny 503", "customer_disabled", enabled=False),
    Case("disabled-pay", "POST", "/pay", "deny 503", "customer_disabled", enabled=False),
    Case(
        "disabled-logs-out",
        "GET",
        "/enroll",
        "deny 503",
        "customer_disabled",
        cookie="portal_session=s1; remember_me=r; theme=dark",
        enabled=False,
        expired=("portal_session", "remember_me"),
    ),
    Case(
        "disabled-office",
        "POST",
        "/office/pay",
        "allow office",
        "forwarded",
        cookie=S,
        enabled=False,
    ),
    Case(
        "disabled-office-host",
        "GET",
        "/",
        "allow office-host",
        "forwarded",
        host="office.example.com",
        enabled=False,
    ),
    Case("disabled-public", "GET", "/public/x", "allow public", "forwarded", enabled=False),
    # -- sessions after a re-enable ------------------------------------------------------------
    Case("no-disable-ever", "GET", "/home", "allow customer", "forwarded", cookie=S),
    Case(
        "unstamped-after-disable",
        "GET",
        "/home",
        "allow customer",
        "stale_session_stripped",
        cookie=S,
        disabled_at=DISABLED_AT,
        expired=("portal_session",),
        withheld=("portal_session",),
    ),
    Case(
        "stamped-before-disable",
        "GET",
        "/home",
        "allow customer",
        "stale_session_stripped",
        cookie=S,
        disabled_at=DISABLED_AT,
        stamp={"portal_session": ("s1", BEFORE)},
        expired=("portal_session",),
        withheld=("portal_session",),
    ),
    Case(
        "stamped-since",
        "GET",
        "/home",
        "allow customer",
        "forwarded",
        cookie=S,
        disabled_at=DISABLED_AT,
        stamp={"portal_session": ("s1", AFTER)},
    ),
    Case(
        "stamp-of-another-value",
        "GET",
        "/home",
        "allow customer",
        "stale_session_stripped",
        cookie="portal_session=forged",
        disabled_at=DISABLED_AT,
        stamp={"portal_session": ("s1", AFTER)},
        expired=("portal_session",),
        withheld=("portal_session",),
    ),
    Case(
        "begun-under-a-fresh-stamp",
        "GET",
        "/home",
        "allow customer",
        "forwarded",
        cookie=S,
        disabled_at=DISABLED_AT,
        stamp_issued=AFTER,
    ),
    Case(
        "begun-under-a-stale-stamp",
        "GET",
        "/home",
        "allow customer",
        "stale_session_stripped",
        cookie=S,
        disabled_at=DISABLED_AT,
        stamp_issued=BEFORE,
        expired=("portal_session",),
        withheld=("portal_session",),
    ),
    Case(
        "non-token-name-after-disable",
        "GET",
        "/home",
        "allow customer",
        "forwarded",
        cookie="theme=dark; portal{session=s1",
        disabled_at=DISABLED_AT,
        withheld=("portal{session",),
    ),
    # -- shared staff/customer cookies -----------------------------------------------------------
    Case(
        "shared-disabled",
        "GET",
        "/",
        "deny 503",
        "customer_disabled",
        cookie="sessionid=st",
        enabled=False,
    ),
    Case(
        "shared-stale",
        "GET",
        "/home",
        "allow customer",
        "stale_session_stripped",
        cookie="sessionid=st",
        disabled_at=DISABLED_AT,
        withheld=("sessionid",),
    ),
    Case(
        "shared-office",
        "GET",
        "/office/x",
        "allow office",
        "forwarded",
        cookie="sessionid=st",
        disabled_at=DISABLED_AT,
    ),
    # -- staff preview links ------------------------------------------------------------------
    Case(
        "preview-disabled",
        "GET",
        "/home",
        "allow customer",
        "preview",
        enabled=False,
        preview="valid",
        withheld=("portal_gateway_preview",),
    ),
    Case(
        "preview-post-disabled",
        "POST",
        "/pay",
        "allow customer",
        "preview",
        cookie="theme=dark",
        enabled=False,
        preview="valid",
        withheld=("portal_gateway_preview",),
    ),
    Case(
        "preview-strips-pre-disable-session",
        "GET",
        "/home",
        "allow customer",
        "preview",
        cookie=S,
        enabled=False,
        stamp={"portal_session": ("s1", BEFORE)},
        preview="valid",
        expired=("portal_session",),
        withheld=("portal_session", "portal_gateway_preview"),
    ),
    Case(
        "preview-keeps-its-own-session",
        "GET",
        "/home",
        "allow customer",
        "preview",
        cookie=S,
        enabled=False,
        stamp={"portal_session": ("s1", AFTER)},
        preview="valid",
        withheld=("portal_gateway_preview",),
    ),
    Case(
        "preview-session-without-preview",
        "GET",
        "/home",
        "deny 503",
        "customer_disabled",
        cookie=S,
        enabled=False,
        stamp={"portal_session": ("s1", AFTER)},
        expired=("portal_session",),
    ),
    Case(
        "preview-expired",
        "GET",
        "/home",
        "deny 503",
        "customer_disabled",
        enabled=False,
        preview="expired",
        expired=("portal_gateway_preview",),
    ),
    Case(
        "preview-tampered",
        "GET",
        "/home",
        "deny 503",
        "customer_disabled",
        cookie=S,
        enabled=False,
        preview="tampered",
        expired=("portal_session", "portal_gateway_preview"),
    ),
    Case(
        "preview-revoked",
        "GET",
        "/home",
        "deny 503",
        "customer_disabled",
        enabled=False,
        preview="revoked",
        generation=1,
        expired=("portal_gateway_preview",),
    ),
    Case(
        "preview-while-enabled",
        "GET",
        "/home",
        "allow customer",
        "forwarded",
        preview="valid",
        withheld=("portal_gateway_preview",),
    ),
    Case(
        "preview-expired-while-enabled",
        "GET",
        "/home",
        "allow customer",
        "forwarded",
        preview="expired",
        expired=("portal_gateway_preview",),
        withheld=("portal_gateway_preview",),
    ),
    Case(
        "preview-never-reaches-office",
        "GET",
        "/office/x",
        "allow office",
        "forwarded",
        cookie="theme=dark",
        enabled=False,
        preview="valid",
        withheld=("portal_gateway_preview",),
    ),
    Case(
        "preview-never-reaches-public",
        "GET",
        "/public/x",
        "allow public",
        "forwarded",
        enabled=False,
        preview="valid",
        withheld=("portal_gateway_preview",),
    ),
    # The token under another spelling of the name (as PHP, Django or a case-blind framework
    # would read it) is no preview: only the exact cookie a link sets is looked at.
    *(
        Case(
            f"preview-name-variant-{i}",
            "GET",
            "/home",
            "deny 503",
            "customer_disabled",
            enabled=False,
            cookie=f"{name}={preview_value('valid')}",
        )
        for i, name in enumerate(
            ["Portal_Gateway_Preview", "portal.gateway.preview", "portal_gateway_preview_"]
        )
    ),
    # -- staff networks ------------------------------------------------------------------------
    Case(
        "allowlisted-disabled",
        "POST",
        "/pay",
        "allow customer",
        "allowlisted",
        enabled=False,
        client=STAFF_IP,
    ),
    Case(
        "allowlisted-strips-pre-disable-session",
        "GET",
        "/home",
        "allow customer",
        "allowlisted",
        cookie=S,
        enabled=False,
        client=STAFF_IP,
        expired=("portal_session",),
        withheld=("portal_session",),
    ),
    Case(
        "allowlisted-ipv4-mapped",
        "GET",
        "/home",
        "allow customer",
        "allowlisted",
        enabled=False,
        client="::ffff:" + STAFF_IP,  # an IPv4 staff client, as a dual-stack socket sees it
    ),
    Case(
        "allowlisted-mapped-outside",
        "GET",
        "/home",
        "deny 503",
        "customer_disabled",
        enabled=False,
        client="::ffff:" + CUSTOMER_IP,
    ),
    Case(
        "allowlisted-outside",
        "GET",
        "/home",
        "deny 503",
        "customer_disabled",
        enabled=False,
        client=CUSTOMER_IP,
    ),
    Case(
        "allowlisted-while-enabled",
        "GET",
        "/home",
        "allow customer",
        "forwarded",
        client=STAFF_IP,
    ),
    # -- proxy-only: framing a proxy in front never transmits ---------------------------------------
    Case(
        "http-2-line",
        "GET",
        "/",
        "deny 505",
        "refused_505",
        proxy_only=True,
        extra={"version": "2.0"},
    ),
    Case(
        "te-gzip",
        "POST",
        "/",
        "deny 400",
        "refused_400",
        proxy_only=True,
        extra={"te": "gzip", "parser": "refuses first"},
    ),
    Case(
        "te-gzip-chunked",
        "POST",
        "/",
        "deny 501",
        "refused_501",
        proxy_only=True,
        extra={"te": "gzip, chunked"},
    ),
    # -- shadow mode: nothing the portal would refuse or strip is; other refusals stand -------------
    Case(
        "shadow-disabled-home",
        "GET",
        "/",
        "allow customer",
        "would_block",
        enabled=False,
        mode="shadow",
    ),
    Case(
        "shadow-preview",
        "GET",
        "/home",
        "allow customer",
        "preview",
        enabled=False,
        mode="shadow",
        preview="valid",
        withheld=("portal_gateway_preview",),
    ),
    Case(
        "shadow-dead-preview-kept-from-upstream",
        "GET",
        "/home",
        "allow customer",
        "would_block",
        enabled=False,
        mode="shadow",
        preview="tampered",
        withheld=("portal_gateway_preview",),
    ),
    Case(
        "shadow-allowlisted",
        "GET",
        "/home",
        "allow customer",
        "allowlisted",
        enabled=False,
        mode="shadow",
        client=STAFF_IP,
    ),
    Case(
        "shadow-disabled-pay",
        "POST",
        "/pay",
        "allow customer",
        "would_block",
        enabled=False,
        mode="shadow",
    ),
    Case(
        "shadow-disabled-logs-no-one-out",
        "GET",
        "/enroll",
        "allow customer",
        "would_block",
        cookie="portal_session=s1; remember_me=r; sessionid=st; theme=dark",
        enabled=False,
        mode="shadow",
    ),
    Case(
        "shadow-stale-session-kept",
        "GET",
        "/home",
        "allow customer",
        "would_block",
        cookie=S,
        disabled_at=DISABLED_AT,
        stamp={"portal_session": ("s1", BEFORE)},
        mode="shadow",
    ),
    Case(
        "shadow-fresh-session",
        "GET",
        "/home",
        "allow customer",
        "forwarded",
        cookie=S,
        disabled_at=DISABLED_AT,
        stamp={"portal_session": ("s1", AFTER)},
        mode="shadow",
    ),
    Case(
        "shadow-non-token-name-kept",
        "GET",
        "/home",
        "allow customer",
        "forwarded",
        cookie="theme=dark; portal{session=s1",
        disabled_at=DISABLED_AT,
        mode="shadow",
    ),
    Case(
        "shadow-enabled-home",
        "GET",
        "/",
        "allow customer",
        "forwarded",
        cookie=S,
        mode="shadow",
    ),
    Case(
        "shadow-disabled-office",
        "POST",
        "/office/pay",
        "allow office",
        "forwarded",
        cookie=S,
        enabled=False,
        mode="shadow",
    ),
    Case(
        "shadow-disabled-bad-path",
        "GET",
        "/office/../pay",
        "deny 400",
        "refused_400",
        enabled=False,
        mode="shadow",
    ),
    Case(
        "shadow-disabled-unknown-host",
        "GET",
        "/",
        "deny 421",
        "refused_421",
        host="evil.example.net",
        enabled=False,
        mode="shadow",
    ),
    Case(
        "shadow-disabled-reserved",
        "GET",
        "/_GATEWAY/metrics",
        "deny 404",
        "refused_404",
        enabled=False,
        mode="shadow",
    ),
]
