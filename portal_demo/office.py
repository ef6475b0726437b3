"""The Office Portal under /office/: staff pages, including Settings > Customer Portal > Settings.

Staff keep working whatever the Customer Portal setting says. No login: it is a demo.
"""

from __future__ import annotations

import secrets
import time

from aiohttp import web

from portal_demo import db
from portal_demo.keys import DB
from portal_demo.layout import esc, form_data, nav, notice, options, page
from portal_demo.live import Handler

SETTINGS_PATH = "/office/settings/customer-portal"
USING = "You are currently using the Customer Portal."
NOT_USING = "You are currently NOT using the Customer Portal."
OFFICE_COOKIE = "office_session"

_NAV = [
    ("/office/", "Dashboard"),
    ("/office/families", "Families"),
    ("/office/enrollments", "Enrollments"),
    ("/office/payments", "Payments"),
    ("/office/classes", "Classes"),
    ("/office/settings", "Settings"),
]
# Settings > Customer Portal > Settings, as plain text once tags are stripped.
_CRUMBS = (
    '<nav class="breadcrumbs" aria-label="Breadcrumb"><a href="/office/settings">Settings</a> &gt; '
    '<a href="/office/settings?area=customer-portal">Customer Portal</a>'
)
_FOOTER = "Demo Office Portal for portal-gateway: no staff login, sample data only."
_DONE = {
    "family": "Family added.",
    "student": "Student added.",
    "enrollment": "Enrollment created.",
    "status": "Enrollment status updated.",
    "payment": "Payment recorded.",
    "spaces": "Spaces updated.",
}


@web.middleware
async def office_cookie(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Gives staff an `office_session` cookie, so tests can see the gateway leaves it alone."""
    resp = await handler(request)
    if (
        request.path.startswith("/office")
        and OFFICE_COOKIE not in request.cookies
        and not resp.prepared
    ):
        resp.set_cookie(
            OFFICE_COOKIE, secrets.token_urlsafe(16), path="/office", httponly=True, samesite="Lax"
        )
    return resp


def redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def office_page(request: web.Request, title: str, body: str, status: int = 200) -> web.Response:
    current = next((h for h, _ in reversed(_NAV) if request.path.startswith(h.rstrip("/"))), "")
    resp = page(
        title,
        notice(_DONE, request.query.get("done")) + body,
        brand="Office Portal",
        navigation=nav(_NAV, current, "Main navigation"),
        footer=_FOOTER,
    )
    resp.set_status(status)
    return resp


def select(name: str, pairs: list[tuple[object, str]]) -> str:
    return f'<select id="{{id}}" name="{name}">{options(pairs)}</select>'


async def dashboard(request: web.Request) -> web.Response:
    conn = request.app[DB]
    enabled, _ = db.portal_setting(conn)

    def count(sql: str) -> int:
        return int(conn.execute(sql).fetchone()[0])

    items = [
        ("Families", count("SELECT COUNT(*) FROM families"), "/office/families"),
        (
            "Active enrollments",
            count("SELECT COUNT(*) FROM enrollments WHERE status = 'active'"),
            "/office/enrollments",
        ),
        (
            "Pending requests",
            count("SELECT COUNT(*) FROM requests WHERE status = 'pending'"),
            "/office/enrollments",
        ),
        ("Payments", count("SELECT COUNT(*) FROM payments"), "/office/payments"),
    ]
    body = (
        "<section><ul>"
        + "".join(f'<li><a href="{href}">{esc(label)}</a>: {n}</li>' for label, n, href in items)
        + "</ul>"
    )
    body += (
        f"<p>Customer Portal: <strong>{'on' if enabled else 'off'}</strong> "
        f'(<a href="{SETTINGS_PATH}">Customer Portal settings</a>)</p></section>'
    )
    return office_page(request, "Dashboard", body)


async def settings_index(request: web.Request) -> web.Response:
    if request.query.get("area") == "customer-portal":
        body = (
            '<nav class="breadcrumbs" aria-label="Breadcrumb"><a href="/office/settings">Settings'
            '</a> &gt; <span aria-current="page">Customer Portal</span></nav>'
            f'<section><ul><li><a href="{SETTINGS_PATH}">Settings</a></li></ul></section>'
        )
        return office_page(request, "Customer Portal", body)
    body = (
        '<section><ul><li><a href="/office/settings?area=customer-portal">Customer Portal</a>'
        "</li></ul></section>"
    )
    return office_page(request, "Settings", body)


async def portal_settings(request: web.Request) -> web.Response:
    enabled, changed_at = db.portal_setting(request.app[DB])
    checked = " checked" if enabled else ""
    body = (
        f'{_CRUMBS} &gt; <span aria-current="page">Settings</span></nav>'
        f'<form class="card" method="post" action="{SETTINGS_PATH}">'
        f'<p role="status" id="portal-status"><strong>{USING if enabled else NOT_USING}</strong></p>'
        f'<p><input type="checkbox" id="enable-customer-portal" name="enabled" value="1"{checked}>'
        '<label class="inline" for="enable-customer-portal">Enable Customer Portal</label></p>'
        '<p class="muted">While the Customer Portal is off, parents cannot log in, resume '
        "sessions, enroll, submit drop or transfer requests, or pay online. Staff work as usual."
        "</p>"
        '<button type="submit">Save</button></form>'
        f'<p class="muted" id="changed-at" data-changed-at="{changed_at!r}">Last changed: '
        f"<time>{esc(when(changed_at))}</time></p>"
    )
    return office_page(request, "Customer Portal Settings", body)


def when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


async def save_portal_settings(request: web.Request) -> web.Response:
    data = await form_data(request)
    db.set_portal_enabled(request.app[DB], data.get("enabled") in ("1", "on", "true"))
    return redirect(SETTINGS_PATH)


async def office_root(request: web.Request) -> web.Response:
    return redirect("/office/")


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/office", office_root)
    router.add_get("/office/", dashboard)
    router.add_get("/office/settings", settings_index)
    router.add_get(SETTINGS_PATH, portal_settings)
    router.add_post(SETTINGS_PATH, save_portal_settings)
