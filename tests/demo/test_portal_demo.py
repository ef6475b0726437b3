"""The demo portal: staff's setting, customer actions that really change data, office pages,
the live WebSocket, and the command line."""

from __future__ import annotations

import asyncio
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from html import unescape
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from portal_demo.app import create_app

USING = "You are currently using the Customer Portal."
NOT_USING = "You are currently NOT using the Customer Portal."
SETTINGS = "/office/settings/customer-portal"
SCHEMA = (
    "CREATE TABLE customer_portal_settings (id INTEGER PRIMARY KEY CHECK (id = 1), "
    "enabled INTEGER NOT NULL, changed_at REAL NOT NULL)"
)
Client = TestClient[Any, Any]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "fresh" / "demo-data"


@pytest.fixture
def db(data_dir: Path, client: Client) -> Iterator[sqlite3.Connection]:
    """A second connection, as the gateway would have one (the client fixture made the file)."""
    conn = sqlite3.connect(data_dir / "portal.db", isolation_level=None)
    yield conn
    conn.close()


@pytest.fixture
async def client(aiohttp_client: AiohttpClient, data_dir: Path) -> Client:
    return await aiohttp_client(create_app(data_dir, live_interval=0.05))


@pytest.fixture
async def parent(client: Client) -> AsyncIterator[Client]:
    """The client, logged in as the demo family."""
    resp = await client.post(
        "/login", data={"email": "parent@example.com", "password": "demo-pass"}
    )
    assert resp.status == 200  # followed the 303 to the home page
    yield client


def value(db: sqlite3.Connection, sql: str) -> Any:
    return db.execute(sql).fetchone()[0]


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", html)))


# -- the data dir and the settings table the gateway reads --------------------------------------


async def test_first_run_creates_data_dir_schema_and_seed(
    client: Client, data_dir: Path, db: sqlite3.Connection
) -> None:
    assert (data_dir / "portal.db").is_file()
    assert value(db, "PRAGMA journal_mode") == "wal"
    sql = "SELECT sql FROM sqlite_master WHERE name = 'customer_portal_settings'"
    assert value(db, sql) == SCHEMA
    enabled, changed_at = db.execute(
        "SELECT enabled, changed_at FROM customer_portal_settings WHERE id = 1"
    ).fetchone()
    assert enabled == 1
    assert abs(changed_at - time.time()) < 60
    counts = {
        t: value(db, f"SELECT COUNT(*) FROM {t}") for t in ("families", "students", "classes")
    }
    assert counts == {"families": 1, "students": 2, "classes": 4}
    assert value(db, "SELECT COUNT(*) FROM enrollments WHERE status = 'active'") == 2


async def test_a_second_start_keeps_the_data(data_dir: Path, db: sqlite3.Connection) -> None:
    db.execute("UPDATE customer_portal_settings SET enabled = 0")
    create_app(data_dir)
    assert value(db, "SELECT enabled FROM customer_portal_settings") == 0
    assert value(db, "SELECT COUNT(*) FROM classes") == 4


# -- Settings > Customer Portal > Settings ------------------------------------------------------


async def test_settings_page_shows_the_state_the_checkbox_and_save(client: Client) -> None:
    html = await (await client.get(SETTINGS)).text()
    assert f'<p role="status" id="portal-status"><strong>{USING}</strong></p>' in html
    assert NOT_USING not in html
    assert re.search(r'<input type="checkbox" id="enable-customer-portal"[^>]* checked>', html)
    assert (
        '<label class="inline" for="enable-customer-portal">Enable Customer Portal</label>' in html
    )
    assert '<button type="submit">Save</button>' in html
    assert "Settings > Customer Portal > Settings" in text_of(html)
    assert html.index(USING) < html.index("Enable Customer Portal</label>")
    assert '<a href="/office/settings"' in html  # the main navigation's Settings


async def test_settings_are_reached_from_the_main_navigation(client: Client) -> None:
    html = await (await client.get("/office/settings")).text()
    assert '<a href="/office/settings?area=customer-portal">Customer Portal</a>' in html
    html = await (await client.get("/office/settings?area=customer-portal")).text()
    assert f'<a href="{SETTINGS}">Settings</a>' in html


async def test_saving_flips_the_value_and_changed_at_only_on_a_change(
    client: Client, db: sqlite3.Connection
) -> None:
    db.execute("UPDATE customer_portal_settings SET changed_at = 1000.0")
    resp = await client.post(SETTINGS, data={}, allow_redirects=False)  # box cleared
    assert (resp.status, resp.headers["Location"]) == (303, SETTINGS)
    enabled, changed_at = db.execute(
        "SELECT enabled, changed_at FROM customer_portal_settings WHERE id = 1"
    ).fetchone()
    assert enabled == 0
    assert abs(changed_at - time.time()) < 60
    html = await (await client.get(SETTINGS)).text()
    assert NOT_USING in html
    assert USING not in html
    assert not re.search(r'id="enable-customer-portal"[^>]* checked', html)
    api = await (await client.get("/api/settings/customer-portal")).json()
    assert api == {"enabled": False, "changed_at": changed_at}

    db.execute("UPDATE customer_portal_settings SET changed_at = 1000.0")
    await client.post(SETTINGS, data={})  # saved again, still off: not a change
    assert value(db, "SELECT changed_at FROM customer_portal_settings") == 1000.0

    await client.post(SETTINGS, data={"enabled": "1"})
    assert value(db, "SELECT enabled FROM customer_portal_settings") == 1
    assert value(db, "SELECT changed_at FROM customer_portal_settings") > 1000.0
    assert USING in await (await client.get(SETTINGS)).text()


# -- customers --------------------------------------------------------------------------------


async def test_home_without_a_session_goes_to_login(client: Client) -> None:
    resp = await client.get("/", allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (303, "/login")
    login = await (await client.get("/login")).text()
    assert "parent@example.com" in login
    assert "demo-pass" in login


async def test_a_wrong_password_shows_an_error_and_sets_no_cookie(client: Client) -> None:
    resp = await client.post(
        "/login", data={"email": "parent@example.com", "password": "nope"}, allow_redirects=False
    )
    assert resp.status == 422
    assert "That email and password do not match." in await resp.text()
    assert "portal_session" not in resp.cookies


async def test_login_sets_the_session_cookies_and_remember_me_resumes(
    client: Client, db: sqlite3.Connection
) -> None:
    resp = await client.post(
        "/login",
        data={"email": "parent@example.com", "password": "demo-pass", "remember": "1"},
        allow_redirects=False,
    )
    assert (resp.status, resp.headers["Location"]) == (303, "/")
    cookies = {c.split("=", 1)[0]: c for c in resp.headers.getall("Set-Cookie")}
    for name in ("portal_session", "remember_me"):
        assert "HttpOnly" in cookies[name]
        assert "SameSite=Lax" in cookies[name]
        assert "Path=/" in cookies[name]
    assert value(db, "SELECT COUNT(*) FROM sessions") == 2
    home = await (await client.get("/")).text()
    assert "Rivera family" in home
    assert "$345.00" in home  # two seeded enrollments: 120.00 + 225.00

    remember = resp.cookies["remember_me"].value
    client.session.cookie_jar.clear()
    resp = await client.get("/", cookies={"remember_me": remember}, allow_redirects=False)
    assert resp.status == 200
    assert "portal_session" in resp.cookies  # a fresh session, resumed

    resp = await client.get("/logout", cookies={"remember_me": remember}, allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (303, "/login")
    resp = await client.get("/", cookies={"remember_me": remember}, allow_redirects=False)
    assert resp.status == 303  # the remember token is gone with the logout


async def test_enroll_creates_an_enrollment_takes_a_space_and_bills(
    parent: Client, db: sqlite3.Connection
) -> None:
    resp = await parent.post("/enroll", data={"student": "2", "class": "4"}, allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (303, "/enroll?done=enroll")
    assert (
        "Your enrollment has been created."
        in await (await parent.get("/enroll?done=enroll")).text()
    )
    assert value(db, "SELECT COUNT(*) FROM enrollments WHERE student_id = 2 AND class_id = 4") == 1
    assert value(db, "SELECT spaces FROM classes WHERE id = 4") == 23
    assert value(db, "SELECT balance_cents FROM families WHERE id = 1") == 34500 + 19500


async def test_enroll_refuses_a_full_class(parent: Client, db: sqlite3.Connection) -> None:
    db.execute("UPDATE classes SET spaces = 0 WHERE id = 2")
    resp = await parent.post("/enroll", data={"student": "1", "class": "2"})
    assert resp.status == 422
    assert "That class has no spaces left." in await resp.text()


@pytest.mark.parametrize(
    ("path", "data", "done", "kind", "to_class"),
    [
        ("/drop", {"enrollment": "1", "note": "moving"}, "Your drop request", "drop", None),
        ("/transfer", {"enrollment": "2", "to_class": "4"}, "Your transfer request", "transfer", 4),
    ],
)
async def test_drop_and_transfer_requests_are_recorded(
    parent: Client,
    db: sqlite3.Connection,
    path: str,
    data: dict[str, str],
    done: str,
    kind: str,
    to_class: int | None,
) -> None:
    resp = await parent.post(path, data=data)
    assert resp.status == 200
    assert done in await resp.text()
    row = db.execute("SELECT enrollment_id, kind, to_class_id, status FROM requests").fetchone()
    assert row == (int(data["enrollment"]), kind, to_class, "pending")


async def test_a_request_for_another_familys_enrollment_is_refused(
    parent: Client, db: sqlite3.Connection
) -> None:
    await parent.post(
        "/office/families", data={"name": "Other", "email": "o@x.org", "student": "Kim"}
    )
    await parent.post("/office/enrollments", data={"student": "3", "class": "2"})
    resp = await parent.post("/drop", data={"enrollment": "3"})
    assert resp.status == 422
    assert value(db, "SELECT COUNT(*) FROM requests") == 0


async def test_pay_records_a_payment_and_lowers_the_balance(
    parent: Client, db: sqlite3.Connection
) -> None:
    resp = await parent.post("/pay", data={"amount": "45.50", "method": "card"})
    assert "Thank you! Your payment has been received." in await resp.text()
    assert db.execute("SELECT amount_cents, source FROM payments").fetchone() == (4550, "portal")
    assert value(db, "SELECT balance_cents FROM families WHERE id = 1") == 34500 - 4550
    resp = await parent.post("/pay", data={"amount": "lots"})
    assert resp.status == 422
    assert "Enter an amount like 25.00." in await resp.text()


async def test_customer_pages_never_say_unavailable(parent: Client) -> None:
    for path in ("/", "/enroll", "/drop", "/transfer", "/pay", "/enroll?done=enroll"):
        resp = await parent.get(path)
        assert resp.status == 200, path
        assert "unavailable" not in (await resp.text()).lower(), path
    await parent.get("/logout")
    assert "unavailable" not in (await (await parent.get("/login")).text()).lower()


# -- staff --------------------------------------------------------------------------------------


async def test_office_pages_have_the_main_navigation_and_an_office_cookie(client: Client) -> None:
    for path in ("/office/", "/office/families", "/office/enrollments", "/office/payments",
                 "/office/classes", "/office/settings", SETTINGS):  # fmt: skip
        resp = await client.get(path)
        assert resp.status == 200, path
        html = await resp.text()
        assert '<nav aria-label="Main navigation">' in html, path
        assert ">Settings</a>" in html, path
    first = await client.get("/office/")
    assert "office_session" not in first.cookies  # the jar already has it from above
    client.session.cookie_jar.clear()
    assert "office_session" in (await client.get("/office/")).cookies


async def test_office_adds_families_and_students(client: Client, db: sqlite3.Connection) -> None:
    data = {
        "action": "family",
        "name": "Chen family",
        "email": "chen@example.org",
        "student": "Ada",
    }
    resp = await client.post("/office/families", data=data, allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (303, "/office/families?done=family")
    await client.post(
        "/office/families", data={"action": "student", "family": "2", "student_name": "Bo"}
    )
    html = await (await client.get("/office/families?done=student")).text()
    assert "Student added." in html
    assert "Chen family" in html
    assert "Ada, Bo" in html
    assert value(db, "SELECT COUNT(*) FROM students WHERE family_id = 2") == 2


async def test_office_creates_and_updates_enrollments(
    client: Client, db: sqlite3.Connection
) -> None:
    resp = await client.post(
        "/office/enrollments", data={"action": "enrollment", "student": "1", "class": "2"}
    )
    assert "Enrollment created." in await resp.text()
    assert value(db, "SELECT spaces FROM classes WHERE id = 2") == 9
    await client.post(
        "/office/enrollments", data={"action": "status", "enrollment": "3", "status": "dropped"}
    )
    assert value(db, "SELECT status FROM enrollments WHERE id = 3") == "dropped"
    assert value(db, "SELECT spaces FROM classes WHERE id = 2") == 10  # the space is free again


async def test_office_records_payments_and_updates_spaces(
    client: Client, db: sqlite3.Connection
) -> None:
    resp = await client.post(
        "/office/payments", data={"family": "1", "amount": "20", "method": "cash"}
    )
    assert "Payment recorded." in await resp.text()
    assert db.execute("SELECT amount_cents, source FROM payments").fetchone() == (2000, "office")
    resp = await client.post("/office/classes", data={"class": "3", "spaces": "5"})
    assert "Spaces updated." in await resp.text()
    assert value(db, "SELECT spaces FROM classes WHERE id = 3") == 5
    resp = await client.post("/office/classes", data={"class": "3", "spaces": "99"})
    assert resp.status == 422
    assert "Spaces must be between 0 and 20." in await resp.text()


# -- live counter, health, command line ---------------------------------------------------------


async def test_the_websocket_sends_spaces_at_once_and_then_repeatedly(
    client: Client, db: sqlite3.Connection
) -> None:
    async with client.ws_connect("/live/spaces") as ws:
        first = await ws.receive_json(timeout=1)
        assert [(c["id"], c["spaces"]) for c in first["classes"]] == [
            (1, 11),
            (2, 10),
            (3, 19),
            (4, 24),
        ]
        db.execute("UPDATE classes SET spaces = 7 WHERE id = 2")
        for _ in range(40):  # 0.05 s apart (live_interval), so 2 s at most
            later = await ws.receive_json(timeout=1)
            if later["classes"][1]["spaces"] == 7:
                break
        else:
            pytest.fail("the change never reached the socket")
        await ws.close()
    assert ws.closed


async def test_home_carries_the_live_counter_and_its_script(parent: Client) -> None:
    html = await (await parent.get("/")).text()
    assert '<strong data-class-id="1">11</strong>' in html
    assert '"/live/spaces"' in html
    assert "Live updates stopped" in html
    assert "data-close-code" in html


async def test_health_and_settings_api(client: Client) -> None:
    assert (await (await client.get("/healthz")).text()).strip() == "ok"
    resp = await client.get("/api/settings/customer-portal")
    body = await resp.json()
    assert body["enabled"] is True
    assert isinstance(body["changed_at"], float)
    assert resp.headers["Cache-Control"] == "no-store"


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "portal_demo",
                "--port",
                str(port),
                "--data-dir",
                str(tmp_path / "d"),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert done.returncode == 2
    assert done.stderr == f"portal_demo: port {port} on 127.0.0.1 is already in use\n"


async def test_the_module_serves_until_sigterm(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "portal_demo", "--port", str(port), "--data-dir", str(tmp_path / "d"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert f"http://127.0.0.1:{port}/" in line.decode()
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/healthz") as r,
        ):
            assert r.status == 200
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    assert (tmp_path / "d" / "portal.db").is_file()


# -- gateway/static/unavailable.html: what customers get from the gateway while the portal is off ------


def test_the_unavailable_page_is_self_contained_and_accessible() -> None:
    page = (
        Path(__file__).resolve().parents[2] / "gateway" / "static" / "unavailable.html"
    ).read_text()
    assert "Our Customer Portal is currently unavailable. Please check back later." in page
    assert page.startswith('<!doctype html>\n<html lang="en">')
    for part in ('<meta name="viewport"', "<title>", "<h1>", "<main>", "prefers-color-scheme"):
        assert part in page, part
    for banned in ("<script", "<link", "<img", "@import", "url(", "http://", "https://", "{" + "{"):
        assert banned not in page.lower(), banned
