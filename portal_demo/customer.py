"""The Customer Portal: log in, home, enroll, drop, transfer, pay. Parents only; no staff pages.

Nothing here knows whether staff switched the portal off: that is the gateway's job.
"""

from __future__ import annotations

import sqlite3

from aiohttp import web

from portal_demo import db, live
from portal_demo.keys import DB
from portal_demo.layout import error, esc, field, form_data, notice, options, table
from portal_demo.layout import to_int as _int
from portal_demo.sessions import DONE, FAMILY, customer_page, redirect

# -- pages that need a family ------------------------------------------------------------------


def _enrollments(conn: sqlite3.Connection, family: int, active_only: bool) -> list[sqlite3.Row]:
    return db.rows(
        conn,
        "SELECT e.id, s.name AS student, c.name AS class, e.status FROM enrollments e "
        "JOIN students s ON s.id = e.student_id JOIN classes c ON c.id = e.class_id "
        "WHERE s.family_id = ? AND (e.status = 'active' OR ? = 0) ORDER BY e.id",
        (family, int(active_only)),
    )


def _class_choices(conn: sqlite3.Connection) -> list[tuple[object, str]]:
    return [
        (r["id"], f"{r['name']} - {db.money(r['price_cents'])}, {r['spaces']} spaces left")
        for r in db.rows(conn, "SELECT id, name, price_cents, spaces FROM classes ORDER BY id")
    ]


def _balance(conn: sqlite3.Connection, family: int) -> tuple[str, int]:
    row = db.one(conn, "SELECT name, balance_cents FROM families WHERE id = ?", (family,))
    return ("", 0) if row is None else (str(row["name"]), int(row["balance_cents"]))


async def home(request: web.Request) -> web.Response:
    if FAMILY not in request:
        return redirect("/login")
    conn, family = request.app[DB], request[FAMILY]
    name, balance = _balance(conn, family)
    enrolled = table(
        ["Student", "Class", "Status"],
        (
            [esc(r["student"]), esc(r["class"]), esc(r["status"])]
            for r in _enrollments(conn, family, False)
        ),
        "Enrollments",
    )
    reqs = db.rows(
        conn,
        "SELECT r.kind, c.name AS class, s.name AS student, r.status FROM requests r "
        "JOIN enrollments e ON e.id = r.enrollment_id JOIN students s ON s.id = e.student_id "
        "JOIN classes c ON c.id = e.class_id WHERE s.family_id = ? ORDER BY r.id",
        (family,),
    )
    requested = (
        table(
            ["Request", "Student", "Class", "Status"],
            ([esc(r["kind"]), esc(r["student"]), esc(r["class"]), esc(r["status"])] for r in reqs),
            "Requests",
        )
        if reqs
        else '<p class="muted">No requests yet.</p>'
    )
    body = (
        f"<p>Welcome, {esc(name)}.</p>"
        f'<section aria-labelledby="h-bal"><h2 id="h-bal">Balance</h2>'
        f'<p>Balance due: <strong id="balance">{esc(db.money(balance))}</strong> '
        '<a href="/pay">Make a payment</a></p></section>'
        f'<section aria-labelledby="h-enr"><h2 id="h-enr">Enrollments</h2>{enrolled}'
        '<p><a href="/enroll">Enroll in a class or camp</a> | <a href="/drop">Request a drop</a>'
        ' | <a href="/transfer">Request a transfer</a></p></section>'
        f'<section aria-labelledby="h-req"><h2 id="h-req">Requests</h2>{requested}</section>'
        f"{live.counter(conn)}"
    )
    return customer_page(request, "Home", body, live.SCRIPT)


async def _family_form(
    request: web.Request,
    kind: str,
    title: str,
    fields: str,
    button: str,
    message: str | None = None,
) -> web.Response:
    body = (
        notice(DONE, request.query.get("done"))
        + error(message)
        + f'<form class="card" method="post" action="/{kind}">{fields}'
        f'<button type="submit">{esc(button)}</button></form>'
        '<p><a href="/">Back to home</a></p>'
    )
    resp = customer_page(request, title, body)
    if message:
        resp.set_status(422)
    return resp


async def _form(request: web.Request, kind: str, message: str | None = None) -> web.Response:
    conn, family = request.app[DB], request[FAMILY]
    active = [(r["id"], f"{r['student']}: {r['class']}") for r in _enrollments(conn, family, True)]
    if kind == "enroll":
        students = db.rows(conn, "SELECT id, name FROM students WHERE family_id = ?", (family,))
        fields = field(
            "Student",
            "student",
            '<select id="{id}" name="student">'
            + options((s["id"], s["name"]) for s in students)
            + "</select>",
        )
        fields += field(
            "Class or camp",
            "class",
            '<select id="{id}" name="class">' + options(_class_choices(conn)) + "</select>",
        )
        return await _family_form(request, kind, "New enrollment", fields, "Enroll", message)
    if kind == "pay":
        _, balance = _balance(conn, family)
        fields = f"<p>Balance due: <strong>{esc(db.money(balance))}</strong></p>"
        fields += field(
            "Amount",
            "amount",
            type_="text",
            extra=' inputmode="decimal" placeholder="25.00" required',
        )
        fields += field(
            "Payment method",
            "method",
            '<select id="{id}" name="method">'
            + options([("card", "Card"), ("bank", "Bank transfer")])
            + "</select>",
        )
        return await _family_form(request, kind, "Make a payment", fields, "Pay", message)
    fields = field(
        "Enrollment",
        "enrollment",
        '<select id="{id}" name="enrollment">' + options(active) + "</select>",
    )
    if kind == "transfer":
        fields += field(
            "Transfer to",
            "to_class",
            '<select id="{id}" name="to_class">' + options(_class_choices(conn)) + "</select>",
        )
        return await _family_form(
            request, kind, "Transfer request", fields, "Submit transfer request", message
        )
    fields += field(
        "Reason (optional)", "note", '<textarea id="{id}" name="note" rows="3"></textarea>'
    )
    return await _family_form(request, kind, "Drop request", fields, "Submit drop request", message)


async def form_page(request: web.Request) -> web.Response:
    if FAMILY not in request:
        return redirect("/login")
    return await _form(request, request.path.strip("/"))


async def submit(request: web.Request) -> web.Response:
    if FAMILY not in request:
        return redirect("/login")
    kind = request.path.strip("/")
    conn, family = request.app[DB], request[FAMILY]
    data = await form_data(request)
    try:
        if kind == "enroll":
            student = _int(data.get("student"))
            owned = db.one(
                conn, "SELECT id FROM students WHERE id = ? AND family_id = ?", (student, family)
            )
            if owned is None:
                raise db.DemoError("Choose one of your students.")
            db.enroll(conn, student_id=int(owned["id"]), class_id=_int(data.get("class")) or 0)
        elif kind == "pay":
            db.pay(
                conn,
                family,
                db.parse_money(data.get("amount", "")),
                data.get("method", "card"),
                "portal",
            )
        else:
            db.add_request(
                conn,
                family,
                _int(data.get("enrollment")) or 0,
                kind,
                to_class_id=_int(data.get("to_class")),
                note=data.get("note", ""),
            )
    except db.DemoError as exc:
        return await _form(request, kind, str(exc))
    return redirect(f"/{kind}?done={kind}")


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/", home)
    for kind in ("enroll", "drop", "transfer", "pay"):
        router.add_get(f"/{kind}", form_page)
        router.add_post(f"/{kind}", submit)
    router.add_get("/live/spaces", live.spaces_socket)
