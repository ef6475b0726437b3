"""Customer sessions: log in and out, `portal_session` and `remember_me` cookies, the
middleware that tells the pages which family is logged in, and the customer page frame."""

from __future__ import annotations

from aiohttp import web

from portal_demo import db, live
from portal_demo.keys import DB
from portal_demo.layout import error, esc, field, form_data, nav, page

SESSION_COOKIE = "portal_session"
REMEMBER_COOKIE = "remember_me"
REMEMBER_SECONDS = 30 * 24 * 3600
FAMILY = web.RequestKey("family_id", int)

_NAV = [
    ("/", "Home"),
    ("/enroll", "Enroll"),
    ("/drop", "Drop a class"),
    ("/transfer", "Transfer"),
    ("/pay", "Pay"),
    ("/logout", "Log out"),
]
_FOOTER = "Demo Customer Portal for portal-gateway. Sample data only."
DONE = {
    "enroll": "Your enrollment has been created.",
    "drop": "Your drop request has been submitted.",
    "transfer": "Your transfer request has been submitted.",
    "pay": "Thank you! Your payment has been received.",
}


def redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def customer_page(request: web.Request, title: str, body: str, script: str = "") -> web.Response:
    menu = nav(_NAV, request.path, "Main navigation") if FAMILY in request else ""
    return page(
        title, body, brand="Customer Portal", navigation=menu, footer=_FOOTER, script=script
    )


def _cookie(resp: web.StreamResponse, name: str, value: str, max_age: int | None = None) -> None:
    resp.set_cookie(
        name, value, max_age=max_age, path="/", httponly=True, samesite="Lax", secure=False
    )


@web.middleware
async def customer_session(request: web.Request, handler: live.Handler) -> web.StreamResponse:
    """Who is logged in: `portal_session`, or a fresh session resumed from `remember_me`."""
    if request.path.startswith(("/office", "/api/settings", "/healthz")):
        return await handler(request)
    conn = request.app[DB]
    fresh = ""
    token = request.cookies.get(SESSION_COOKIE, "")
    family = db.family_for_token(conn, token, "session") if token else None
    if family is None and (remember := request.cookies.get(REMEMBER_COOKIE, "")):
        family = db.family_for_token(conn, remember, "remember")
        if family is not None:
            fresh = db.new_token(conn, family, "session")
    if family is not None:
        request[FAMILY] = family
    resp = await handler(request)
    if fresh and not resp.prepared:
        _cookie(resp, SESSION_COOKIE, fresh)
    return resp


# -- log in / log out --------------------------------------------------------------------------


def _login_page(request: web.Request, message: str | None = None, email: str = "") -> web.Response:
    body = (
        f"{error(message)}"
        '<form class="card" method="post" action="/login">'
        + field(
            "Email",
            "email",
            type_="email",
            extra=f' autocomplete="username" value="{esc(email)}" required',
        )
        + field(
            "Password",
            "password",
            type_="password",
            extra=' autocomplete="current-password" required',
        )
        + '<p><input type="checkbox" id="f-remember" name="remember" value="1">'
        '<label class="inline" for="f-remember">Remember me</label></p>'
        '<button type="submit">Log in</button></form>'
        f'<p class="muted">Demo account: <strong>{esc(db.DEMO_EMAIL)}</strong> / '
        f"<strong>{esc(db.DEMO_PASSWORD)}</strong></p>"
    )
    resp = customer_page(request, "Log in", body)
    if message:
        resp.set_status(422)
    return resp


async def login_form(request: web.Request) -> web.Response:
    return _login_page(request)


async def login(request: web.Request) -> web.Response:
    data = await form_data(request)
    conn = request.app[DB]
    family = db.check_login(conn, data.get("email", ""), data.get("password", ""))
    if family is None:
        return _login_page(request, "That email and password do not match.", data.get("email", ""))
    db.drop_tokens(conn, request.cookies.get(SESSION_COOKIE, ""))
    resp = redirect("/")
    _cookie(resp, SESSION_COOKIE, db.new_token(conn, family, "session"))
    if data.get("remember"):
        _cookie(resp, REMEMBER_COOKIE, db.new_token(conn, family, "remember"), REMEMBER_SECONDS)
    return resp


async def logout(request: web.Request) -> web.Response:
    db.drop_tokens(
        request.app[DB],
        request.cookies.get(SESSION_COOKIE, ""),
        request.cookies.get(REMEMBER_COOKIE, ""),
    )
    resp = redirect("/login")
    resp.del_cookie(SESSION_COOKIE, path="/")
    resp.del_cookie(REMEMBER_COOKIE, path="/")
    return resp


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/login", login_form)
    router.add_post("/login", login)
    router.add_get("/logout", logout)
    router.add_post("/logout", logout)
