"""Office Portal record pages: families and students, enrollments and requests, payments,
classes and camps. Every form is POST + 303 back with a one-word `done` notice."""

from __future__ import annotations

import sqlite3

from aiohttp import web

from portal_demo import db
from portal_demo.keys import DB
from portal_demo.layout import error, esc, field, form_data, options, table
from portal_demo.layout import to_int as _int
from portal_demo.office import office_page, redirect, select, when


def _families(conn: sqlite3.Connection) -> list[tuple[object, str]]:
    return [
        (r["id"], r["name"]) for r in db.rows(conn, "SELECT id, name FROM families ORDER BY name")
    ]


async def families(request: web.Request, message: str | None = None) -> web.Response:
    conn = request.app[DB]
    listing = table(
        ["Family", "Email", "Students", "Balance"],
        (
            [
                esc(r["name"]),
                esc(r["email"]),
                esc(r["students"] or ""),
                esc(db.money(r["balance_cents"])),
            ]
            for r in db.rows(
                conn,
                "SELECT f.name, f.email, f.balance_cents, group_concat(s.name, ', ') AS students "
                "FROM families f LEFT JOIN students s ON s.family_id = f.id GROUP BY f.id ORDER BY f.name",
            )
        ),
        "Families",
    )
    body = (
        error(message)
        + f"<section><h2>Families and students</h2>{listing}</section>"
        + '<form class="card" method="post"><h2>Add a family</h2>'
        '<input type="hidden" name="action" value="family">'
        + field("Family name", "name", extra=" required")
        + field("Email", "email", type_="email", extra=" required")
        + field("First student", "student", extra=" required")
        + '<button type="submit">Add family</button></form>'
        + '<form class="card" method="post"><h2>Add a student</h2>'
        '<input type="hidden" name="action" value="student">'
        + field("Family", "family", select("family", _families(conn)))
        + field("Student name", "student_name", extra=" required")
        + '<button type="submit">Add student</button></form>'
    )
    return office_page(request, "Families", body, 422 if message else 200)


async def save_family(request: web.Request) -> web.Response:
    data = await form_data(request)
    conn = request.app[DB]
    try:
        if data.get("action") == "student":
            db.add_student(conn, _int(data.get("family")) or 0, data.get("student_name", ""))
            return redirect("/office/families?done=student")
        db.add_family(conn, data.get("name", ""), data.get("email", ""), data.get("student", ""))
    except db.DemoError as exc:
        return await families(request, str(exc))
    return redirect("/office/families?done=family")


_NONE = '<p class="muted">No requests yet.</p>'
_STATUSES: list[tuple[object, str]] = [(s, s) for s in ("active", "dropped", "transferred")]


async def enrollments(request: web.Request, message: str | None = None) -> web.Response:
    conn = request.app[DB]

    def status_form(r: sqlite3.Row) -> str:
        i = r["id"]
        return (
            f'<form method="post"><input type="hidden" name="action" value="status">'
            f'<input type="hidden" name="enrollment" value="{i}">'
            f'<label class="sr-only" for="status-{i}">Status of enrollment {i}</label>'
            f'<select id="status-{i}" name="status">{options(_STATUSES, r["status"])}</select>'
            '<button type="submit">Update</button></form>'
        )

    listing = table(
        ["#", "Student", "Class", "Status"],
        (
            [str(r["id"]), esc(r["student"]), esc(r["class"]), status_form(r)]
            for r in db.rows(
                conn,
                "SELECT e.id, s.name AS student, c.name AS class, e.status FROM enrollments e "
                "JOIN students s ON s.id = e.student_id JOIN classes c ON c.id = e.class_id ORDER BY e.id",
            )
        ),
        "Enrollments",
    )
    reqs = table(
        ["#", "Type", "Enrollment", "Transfer to", "Note", "Status"],
        (
            [
                str(r["id"]),
                esc(r["kind"]),
                str(r["enrollment_id"]),
                esc(r["to_class"] or ""),
                esc(r["note"]),
                esc(r["status"]),
            ]
            for r in db.rows(
                conn,
                "SELECT r.*, c.name AS to_class FROM requests r "
                "LEFT JOIN classes c ON c.id = r.to_class_id ORDER BY r.id",
            )
        ),
        "Requests from families",
    )
    students = [
        (r["id"], r["name"]) for r in db.rows(conn, "SELECT id, name FROM students ORDER BY name")
    ]
    classes = [
        (r["id"], f"{r['name']} ({r['spaces']} spaces)")
        for r in db.rows(conn, "SELECT * FROM classes ORDER BY id")
    ]
    body = (
        error(message)
        + f"<section><h2>All enrollments</h2>{listing}</section>"
        + f"<section><h2>Requests from families</h2>{reqs if '<td>' in reqs else _NONE}</section>"
        + '<form class="card" method="post"><h2>New enrollment</h2>'
        '<input type="hidden" name="action" value="enrollment">'
        + field("Student", "student", select("student", students))
        + field("Class or camp", "class", select("class", classes))
        + '<button type="submit">Create enrollment</button></form>'
    )
    return office_page(request, "Enrollments", body, 422 if message else 200)


async def save_enrollment(request: web.Request) -> web.Response:
    data = await form_data(request)
    conn = request.app[DB]
    try:
        if data.get("action") == "status":
            db.set_enrollment_status(
                conn, _int(data.get("enrollment")) or 0, data.get("status", "")
            )
            return redirect("/office/enrollments?done=status")
        db.enroll(
            conn, student_id=_int(data.get("student")) or 0, class_id=_int(data.get("class")) or 0
        )
    except db.DemoError as exc:
        return await enrollments(request, str(exc))
    return redirect("/office/enrollments?done=enrollment")


async def payments(request: web.Request, message: str | None = None) -> web.Response:
    conn = request.app[DB]
    listing = table(
        ["#", "Family", "Amount", "Method", "Source", "When"],
        (
            [
                str(r["id"]),
                esc(r["family"]),
                esc(db.money(r["amount_cents"])),
                esc(r["method"]),
                esc(r["source"]),
                esc(when(r["created_at"])),
            ]
            for r in db.rows(
                conn,
                "SELECT p.*, f.name AS family FROM payments p JOIN families f ON f.id = p.family_id "
                "ORDER BY p.id DESC",
            )
        ),
        "Payments",
    )
    body = (
        error(message)
        + f"<section><h2>Payments</h2>{listing}</section>"
        + '<form class="card" method="post"><h2>Record a payment</h2>'
        + field("Family", "family", select("family", _families(conn)))
        + field("Amount", "amount", extra=' inputmode="decimal" placeholder="25.00" required')
        + field(
            "Method",
            "method",
            select("method", [("cash", "Cash"), ("check", "Check"), ("card", "Card")]),
        )
        + '<button type="submit">Record payment</button></form>'
    )
    return office_page(request, "Payments", body, 422 if message else 200)


async def save_payment(request: web.Request) -> web.Response:
    data = await form_data(request)
    try:
        amount = db.parse_money(data.get("amount", ""))
        db.pay(
            request.app[DB],
            _int(data.get("family")) or 0,
            amount,
            data.get("method", "cash"),
            "office",
        )
    except db.DemoError as exc:
        return await payments(request, str(exc))
    return redirect("/office/payments?done=payment")


async def classes(request: web.Request, message: str | None = None) -> web.Response:
    def spaces_form(r: sqlite3.Row) -> str:
        i = r["id"]
        return (
            f'<form method="post"><input type="hidden" name="class" value="{i}">'
            f'<label class="sr-only" for="spaces-{i}">Spaces in {esc(r["name"])}</label>'
            f'<input type="number" id="spaces-{i}" name="spaces" min="0" max="{r["capacity"]}" value="{r["spaces"]}">'
            '<button type="submit">Update</button></form>'
        )

    listing = table(
        ["Class or camp", "Type", "Fee", "Capacity", "Spaces"],
        (
            [
                esc(r["name"]),
                esc(r["kind"]),
                esc(db.money(r["price_cents"])),
                str(r["capacity"]),
                spaces_form(r),
            ]
            for r in db.rows(request.app[DB], "SELECT * FROM classes ORDER BY id")
        ),
        "Classes and camps",
    )
    body = error(message) + f"<section><h2>Classes and camps</h2>{listing}</section>"
    return office_page(request, "Classes and camps", body, 422 if message else 200)


async def save_spaces(request: web.Request) -> web.Response:
    data = await form_data(request)
    try:
        spaces = _int(data.get("spaces"))
        if spaces is None:
            raise db.DemoError("Enter a number of spaces.")
        db.set_spaces(request.app[DB], _int(data.get("class")) or 0, spaces)
    except db.DemoError as exc:
        return await classes(request, str(exc))
    return redirect("/office/classes?done=spaces")


def add_routes(router: web.UrlDispatcher) -> None:
    for path, show, save in (
        ("/office/families", families, save_family),
        ("/office/enrollments", enrollments, save_enrollment),
        ("/office/payments", payments, save_payment),
        ("/office/classes", classes, save_spaces),
    ):
        router.add_get(path, show)
        router.add_post(path, save)
