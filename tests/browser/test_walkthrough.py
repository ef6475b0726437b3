"""Staff's step-by-step switch and the customer FAQ, in Debian's chromium, through the gateway.

Staff and a parent use the demo portal (portal_demo, the real SQLite store) through a real
gateway: staff switch the Customer Portal off and on again in the Office Portal, the parent
meets the unavailable page everywhere, staff keep working, and the parent must log in again.
Screenshots go to test-artifacts/; with UPDATE_SCREENSHOTS=1 they also replace docs/*.png.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect
from pytest_aiohttp import AiohttpServer

from portal_demo.app import create_app as create_portal
from tests.conftest import ROOT, Gateway
from tests.services import require_binary

pytestmark = pytest.mark.browser

MESSAGE = "Our Customer Portal is currently unavailable. Please check back later."
USING = "You are currently using the Customer Portal."
NOT_USING = "You are currently NOT using the Customer Portal."
ARTIFACTS = ROOT / "test-artifacts"
ROUTES = """\
routes:
  - name: health
    paths: [/healthz]
    upstream: portal
    portal: public
  - name: office
    paths: [/office, /api/settings]
    upstream: portal
    portal: office
  - name: customer
    paths: [/]
    upstream: portal
    portal: customer
"""


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = require_binary(os.environ.get("CHROMIUM", "/usr/bin/chromium"), "chromium")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        yield browser
        await browser.close()


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path))
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        shutil.copy(path, ROOT / "docs" / f"{name}.png")


async def staff_sets_portal(staff: Page, enabled: bool) -> None:
    box = staff.get_by_label("Enable Customer Portal", exact=True)
    await (box.check() if enabled else box.uncheck())
    await staff.get_by_role("button", name="Save").click()
    await expect(staff.get_by_role("status")).to_have_text(USING if enabled else NOT_USING)


async def parent_logs_in(parent: Page, base: str) -> None:
    await parent.goto(base + "/")
    await expect(parent).to_have_url(base + "/login")
    await parent.get_by_label("Email").fill("parent@example.com")
    await parent.get_by_label("Password").fill("demo-pass")
    await parent.get_by_role("button", name="Log in").click()
    await expect(parent).to_have_url(base + "/")


async def test_the_staff_and_customer_walkthrough(
    browser: Browser,
    aiohttp_server: AiohttpServer,
    gateway: Callable[..., Awaitable[Gateway]],
    tmp_path: Path,
) -> None:
    portal = await aiohttp_server(create_portal(tmp_path, live_interval=0.2))
    settings = (
        f"source: sqlite:///{tmp_path}/portal.db\n"
        "query: SELECT enabled, changed_at FROM customer_portal_settings WHERE id = 1\n"
        "ttl: 200ms\n"
    )
    gw = await gateway(f"http://127.0.0.1:{portal.port}", settings=settings, routes=ROUTES)
    base = f"http://127.0.0.1:{gw.port}"
    office_ctx: BrowserContext = await browser.new_context(viewport={"width": 1280, "height": 800})
    parent_ctx: BrowserContext = await browser.new_context(viewport={"width": 1280, "height": 800})
    staff, parent, live = (
        await office_ctx.new_page(),
        await parent_ctx.new_page(),
        await parent_ctx.new_page(),
    )

    # Staff: Settings > Customer Portal > Settings, from the main navigation.
    await staff.goto(base + "/office/")
    await (
        staff.get_by_role("navigation", name="Main navigation")
        .get_by_role("link", name="Settings")
        .click()
    )
    await staff.get_by_role("link", name="Customer Portal", exact=True).click()
    await (
        staff.get_by_role("main")
        .locator("section")
        .get_by_role("link", name="Settings", exact=True)
        .click()
    )
    await expect(staff).to_have_url(base + "/office/settings/customer-portal")
    await expect(staff.get_by_role("status")).to_have_text(USING)
    await expect(staff.get_by_label("Enable Customer Portal", exact=True)).to_be_checked()
    await shot(staff, "settings-page")

    # A parent logs in, watches the live class-spaces counter, and starts an enrollment.
    await parent_logs_in(parent, base)
    await live.goto(base + "/")
    await expect(live.locator("[data-class-id]").first).to_have_text(re.compile(r"^\d+$"))
    await parent.get_by_role("link", name="Enroll", exact=True).first.click()
    await expect(parent).to_have_url(base + "/enroll")

    # Staff clear Enable Customer Portal and save; the Office Portal confirms it.
    await staff_sets_portal(staff, enabled=False)
    await gw.poller.refresh()  # the next poll, without waiting a TTL
    assert gw.poller.state.enabled is False

    # The parent's next click: the unavailable message, with a 503.
    async with parent.expect_response(lambda r: r.request.method == "POST") as answer:
        await parent.get_by_role("button", name="Enroll").click()
    assert (await answer.value).status == 503
    await expect(parent.get_by_text(MESSAGE)).to_be_visible()
    # The login form is gone; drop, transfer and payment requests are refused.
    response = await parent.goto(base + "/login")
    assert response is not None and response.status == 503
    assert await parent.locator("input[type=password]").count() == 0
    forms: list[tuple[str, dict[str, str | float | bool]]] = [
        ("/drop", {"enrollment": "1"}),
        ("/transfer", {"enrollment": "1", "to_class": "2"}),
        ("/pay", {"amount": "25.00"}),
    ]
    for path, form in forms:
        refused = await parent_ctx.request.post(base + path, form=form)
        assert refused.status == 503, path
        assert MESSAGE in await refused.text()
    # The live element stops: the gateway closed its WebSocket with 1013.
    await expect(live.get_by_text("Live updates stopped")).to_be_visible(timeout=5000)
    assert await live.locator("[data-close-code]").first.get_attribute("data-close-code") == "1013"
    await shot(parent, "unavailable-desktop")
    phone = await parent_ctx.new_page()
    await phone.set_viewport_size({"width": 390, "height": 844})
    await phone.goto(base + "/")
    await expect(phone.get_by_text(MESSAGE)).to_be_visible()
    await shot(phone, "unavailable-phone")

    # Staff keep working: families, an enrollment update, a payment.
    listed = await staff.goto(base + "/office/families")
    assert listed is not None and listed.status == 200
    await expect(staff.get_by_role("main")).to_contain_text("Rivera family")
    await staff.goto(base + "/office/enrollments")
    await staff.get_by_label("Status of enrollment 1").select_option("transferred")
    await staff.get_by_role("button", name="Update").first.click()
    await expect(staff).to_have_url(base + "/office/enrollments?done=status")
    await staff.goto(base + "/office/payments")
    await staff.get_by_label("Amount").fill("40.00")
    await staff.get_by_role("button", name="Record payment").click()
    await expect(staff).to_have_url(base + "/office/payments?done=payment")

    # Staff re-enable; the parent must log in again, and can then enroll.
    await staff.goto(base + "/office/settings/customer-portal")
    await staff_sets_portal(staff, enabled=True)
    await gw.poller.refresh()
    await parent_logs_in(parent, base)
    await parent.goto(base + "/enroll")
    async with parent.expect_response(lambda r: r.request.method == "POST") as answer:
        await parent.get_by_role("button", name="Enroll").click()
    assert (await answer.value).status == 303
    await expect(parent.get_by_text("Your enrollment has been created.")).to_be_visible()
    await office_ctx.close()
    await parent_ctx.close()
