"""The demo portal's SQLite database: schema, seed data and the few writes the pages make.

The file is `data_dir/portal.db`. The gateway reads staff's setting from the same file in
another connection (often another process), so the journal is WAL: a reader never blocks the
portal, and the portal never blocks a reader.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

DB_NAME = "portal.db"

SCHEMA = """
CREATE TABLE IF NOT EXISTS customer_portal_settings (id INTEGER PRIMARY KEY CHECK (id = 1), enabled INTEGER NOT NULL, changed_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS families (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE,
    password TEXT NOT NULL, balance_cents INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS students (
    id INTEGER PRIMARY KEY, family_id INTEGER NOT NULL REFERENCES families(id),
    name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS classes (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('class', 'camp')),
    capacity INTEGER NOT NULL, spaces INTEGER NOT NULL CHECK (spaces >= 0),
    price_cents INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS enrollments (
    id INTEGER PRIMARY KEY, student_id INTEGER NOT NULL REFERENCES students(id),
    class_id INTEGER NOT NULL REFERENCES classes(id),
    status TEXT NOT NULL CHECK (status IN ('active', 'dropped', 'transferred')),
    created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY, enrollment_id INTEGER NOT NULL REFERENCES enrollments(id),
    kind TEXT NOT NULL CHECK (kind IN ('drop', 'transfer')),
    to_class_id INTEGER REFERENCES classes(id), note TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'pending', created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS payments (
    id INTEGER PRIMARY KEY, family_id INTEGER NOT NULL REFERENCES families(id),
    amount_cents INTEGER NOT NULL CHECK (amount_cents > 0), method TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('portal', 'office')), created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    token TEXT PRIMARY KEY, family_id INTEGER NOT NULL REFERENCES families(id),
    kind TEXT NOT NULL CHECK (kind IN ('session', 'remember')), created_at REAL NOT NULL);
"""

DEMO_EMAIL = "parent@example.com"
DEMO_PASSWORD = "demo-pass"  # noqa: S105 - shown on the demo's own login page

_CLASSES = [
    ("Swim Basics (Sat 9:00)", "class", 12, 12000),
    ("Junior Coding (Tue 16:00)", "class", 10, 15000),
    ("Art Camp (Jul 7-11)", "camp", 20, 22500),
    ("Soccer Camp (Aug 4-8)", "camp", 24, 19500),
]


class DemoError(Exception):
    """A request the data cannot take (no spaces left, not this family's enrollment...)."""


def db_path(data_dir: Path) -> Path:
    return data_dir / DB_NAME


def connect(path: Path) -> sqlite3.Connection:
    """Autocommit connection; writes that touch two tables use `transaction()`."""
    conn = sqlite3.connect(path, timeout=5.0, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 5000")
    return conn


def init_db(data_dir: Path) -> Path:
    """Create the data dir, the schema and the seed data if missing; return the DB path."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = db_path(data_dir)
    conn = connect(path)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(SCHEMA)
        with transaction(conn):
            if conn.execute("SELECT COUNT(*) FROM customer_portal_settings").fetchone()[0] == 0:
                _seed(conn)
    finally:
        conn.close()
    return path


def _seed(conn: sqlite3.Connection) -> None:
    """One family with two students, four classes and camps, two enrollments."""
    now = time.time()
    conn.execute(
        "INSERT INTO customer_portal_settings (id, enabled, changed_at) VALUES (1, 1, ?)", (now,)
    )
    conn.execute(
        "INSERT INTO families (id, name, email, password, balance_cents) VALUES (1, ?, ?, ?, 0)",
        ("Rivera family", DEMO_EMAIL, DEMO_PASSWORD),
    )
    conn.executemany(
        "INSERT INTO students (id, family_id, name) VALUES (?, 1, ?)",
        [(1, "Maya Rivera"), (2, "Leo Rivera")],
    )
    conn.executemany(
        "INSERT INTO classes (id, name, kind, capacity, spaces, price_cents) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [
            (i, name, kind, cap, cap, price)
            for i, (name, kind, cap, price) in enumerate(_CLASSES, 1)
        ],
    )
    for student_id, class_id in ((1, 1), (2, 3)):
        _enroll(conn, student_id, class_id, now)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def rows(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
    return conn.execute(sql, params).fetchall()


def one(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(sql, params).fetchone()
    return row


# -- staff's setting ---------------------------------------------------------------------------


def portal_setting(conn: sqlite3.Connection) -> tuple[bool, float]:
    row = one(conn, "SELECT enabled, changed_at FROM customer_portal_settings WHERE id = 1")
    if row is None:
        raise DemoError("customer_portal_settings has no row id=1")
    return bool(row["enabled"]), float(row["changed_at"])


def set_portal_enabled(conn: sqlite3.Connection, enabled: bool) -> None:
    """changed_at moves only when the value does, so it marks the moment of the last switch."""
    conn.execute(
        "UPDATE customer_portal_settings SET enabled = ?, changed_at = ? "
        "WHERE id = 1 AND enabled != ?",
        (int(enabled), time.time(), int(enabled)),
    )


# -- customer sessions -------------------------------------------------------------------------


def check_login(conn: sqlite3.Connection, email: str, password: str) -> int | None:
    row = one(conn, "SELECT id, password FROM families WHERE email = ?", (email.strip().lower(),))
    if row is None or not secrets.compare_digest(str(row["password"]), password):
        return None
    return int(row["id"])


def new_token(conn: sqlite3.Connection, family_id: int, kind: str) -> str:
    token = secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO sessions (token, family_id, kind, created_at) VALUES (?, ?, ?, ?)",
        (token, family_id, kind, time.time()),
    )
    return token


def family_for_token(conn: sqlite3.Connection, token: str, kind: str) -> int | None:
    row = one(conn, "SELECT family_id FROM sessions WHERE token = ? AND kind = ?", (token, kind))
    return None if row is None else int(row["family_id"])


def drop_tokens(conn: sqlite3.Connection, *tokens: str) -> None:
    conn.executemany("DELETE FROM sessions WHERE token = ?", [(t,) for t in tokens if t])


# -- changes customers and staff make ----------------------------------------------------------


def enroll(conn: sqlite3.Connection, *, student_id: int, class_id: int) -> int:
    """A new active enrollment takes a space and adds the class fee to the family's balance."""
    with transaction(conn):
        return _enroll(conn, student_id, class_id, time.time())


def _enroll(conn: sqlite3.Connection, student_id: int, class_id: int, now: float) -> int:
    cls = one(conn, "SELECT spaces, price_cents FROM classes WHERE id = ?", (class_id,))
    student = one(conn, "SELECT family_id FROM students WHERE id = ?", (student_id,))
    if cls is None or student is None:
        raise DemoError("Choose a student and a class.")
    if cls["spaces"] <= 0:
        raise DemoError("That class has no spaces left.")
    cur = conn.execute(
        "INSERT INTO enrollments (student_id, class_id, status, created_at) "
        "VALUES (?, ?, 'active', ?)",
        (student_id, class_id, now),
    )
    conn.execute("UPDATE classes SET spaces = spaces - 1 WHERE id = ?", (class_id,))
    conn.execute(
        "UPDATE families SET balance_cents = balance_cents + ? WHERE id = ?",
        (cls["price_cents"], student["family_id"]),
    )
    return int(cur.lastrowid or 0)


def set_enrollment_status(conn: sqlite3.Connection, enrollment_id: int, status: str) -> None:
    """Leaving 'active' frees the space; returning to 'active' takes one again."""
    if status not in ("active", "dropped", "transferred"):
        raise DemoError("Unknown status.")
    with transaction(conn):
        row = one(conn, "SELECT class_id, status FROM enrollments WHERE id = ?", (enrollment_id,))
        if row is None:
            raise DemoError("No such enrollment.")
        delta = (row["status"] == "active") - (status == "active")
        if delta:
            conn.execute(
                "UPDATE classes SET spaces = MIN(capacity, MAX(0, spaces + ?)) WHERE id = ?",
                (delta, row["class_id"]),
            )
        conn.execute("UPDATE enrollments SET status = ? WHERE id = ?", (status, enrollment_id))


def add_request(
    conn: sqlite3.Connection,
    family_id: int,
    enrollment_id: int,
    kind: str,
    *,
    to_class_id: int | None = None,
    note: str = "",
) -> None:
    owned = one(
        conn,
        "SELECT e.id FROM enrollments e JOIN students s ON s.id = e.student_id "
        "WHERE e.id = ? AND s.family_id = ? AND e.status = 'active'",
        (enrollment_id, family_id),
    )
    if owned is None:
        raise DemoError("Choose one of your active enrollments.")
    if (
        kind == "transfer"
        and one(conn, "SELECT id FROM classes WHERE id = ?", (to_class_id,)) is None
    ):
        raise DemoError("Choose the class to transfer to.")
    conn.execute(
        "INSERT INTO requests (enrollment_id, kind, to_class_id, note, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (enrollment_id, kind, to_class_id, note[:500], time.time()),
    )


def pay(
    conn: sqlite3.Connection, family_id: int, amount_cents: int, method: str, source: str
) -> None:
    if not 0 < amount_cents <= 10_000_000:
        raise DemoError("Enter an amount between 0.01 and 100000.00.")
    with transaction(conn):
        if one(conn, "SELECT id FROM families WHERE id = ?", (family_id,)) is None:
            raise DemoError("Choose a family.")
        conn.execute(
            "INSERT INTO payments (family_id, amount_cents, method, source, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (family_id, amount_cents, method[:40], source, time.time()),
        )
        conn.execute(
            "UPDATE families SET balance_cents = balance_cents - ? WHERE id = ?",
            (amount_cents, family_id),
        )


def add_family(conn: sqlite3.Connection, name: str, email: str, student: str) -> None:
    name, email, student = name.strip(), email.strip().lower(), student.strip()
    if not (name and email and student):
        raise DemoError("Family name, email and first student are all needed.")
    if one(conn, "SELECT id FROM families WHERE email = ?", (email,)) is not None:
        raise DemoError("A family with that email already exists.")
    with transaction(conn):
        cur = conn.execute(
            "INSERT INTO families (name, email, password) VALUES (?, ?, ?)",
            (name[:100], email[:200], secrets.token_urlsafe(12)),
        )
        conn.execute(
            "INSERT INTO students (family_id, name) VALUES (?, ?)", (cur.lastrowid, student[:100])
        )


def add_student(conn: sqlite3.Connection, family_id: int, name: str) -> None:
    if not name.strip():
        raise DemoError("Enter the student's name.")
    if one(conn, "SELECT id FROM families WHERE id = ?", (family_id,)) is None:
        raise DemoError("Choose a family.")
    conn.execute(
        "INSERT INTO students (family_id, name) VALUES (?, ?)", (family_id, name.strip()[:100])
    )


def set_spaces(conn: sqlite3.Connection, class_id: int, spaces: int) -> None:
    row = one(conn, "SELECT capacity FROM classes WHERE id = ?", (class_id,))
    if row is None:
        raise DemoError("No such class.")
    if not 0 <= spaces <= row["capacity"]:
        raise DemoError(f"Spaces must be between 0 and {row['capacity']}.")
    conn.execute("UPDATE classes SET spaces = ? WHERE id = ?", (spaces, class_id))


def parse_money(text: str) -> int:
    """'12.50' -> 1250 cents; DemoError for anything else."""
    try:
        whole, _, frac = text.strip().lstrip("$").partition(".")
        if not whole.isdigit() or len(frac) > 2 or (frac and not frac.isdigit()):
            raise ValueError(text)
        return int(whole) * 100 + int(frac.ljust(2, "0") or "0")
    except ValueError:
        raise DemoError("Enter an amount like 25.00.") from None


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) // 100:,}.{abs(cents) % 100:02d}"
