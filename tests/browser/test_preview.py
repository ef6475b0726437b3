"""A staff preview link in Debian's chromium: the one browser that opened it sees the disabled
customer portal (and may log in to it); a tampered link or cookie does not, and the preview's
login ends with the disable."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect
from pytest_aiohttp import AiohttpServer

from gateway.policy.preview import PreviewCodec
from portal_demo.app import create_app as create_portal
from tests.browser.test_walkthrough import (
    MESSAGE,
    ROUTES,
    browser,
    parent_logs_in,
    staff_sets_portal,
)
from tests.conftest import SESSION_KEY, Gateway

__all__ = ["browser"]  # the fixture, shared with the walkthrough
pytestmark = pytest.mark.browser


async def test_a_preview_link_opened_in_chromium_passes_a_disabled_customer_route(
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
    office = await browser.new_context()
    previewer = await browser.new_context()
    customer = await browser.new_context()
    staff = await office.new_page()
    await staff.goto(base + "/office/settings/customer-portal")
    await staff_sets_portal(staff, enabled=False)
    await gw.poller.refresh()
    assert gw.poller.state.enabled is False

    token = PreviewCodec(SESSION_KEY.encode()).issue(time.time() + 600, 0)
    preview = await previewer.new_page()
    # The link lands on the customer portal's home, which sends a stranger to its login.
    await preview.goto(f"{base}/_gateway/preview/{token}")
    await expect(preview).to_have_url(base + "/login")
    (cookie,) = [c for c in await previewer.cookies() if c["name"] == "portal_gateway_preview"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/"
    assert time.time() + 590 < cookie["expires"] <= time.time() + 600
    await parent_logs_in(preview, base)  # staff log in as a parent would, during the preview
    response = await preview.goto(base + "/enroll")
    assert response is not None and response.status == 200
    assert await preview.get_by_text(MESSAGE).count() == 0

    # A tampered link sets nothing; the customer side stays unavailable.
    page = await customer.new_page()
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    response = await page.goto(f"{base}/_gateway/preview/{forged}")
    assert response is not None and response.status == 404
    assert await customer.cookies() == []
    response = await page.goto(base + "/")
    assert response is not None and response.status == 503
    await expect(page.get_by_text(MESSAGE)).to_be_visible()
    # A tampered cookie: the unavailable page, and the cookie is gone.
    await customer.add_cookies(
        [{"name": "portal_gateway_preview", "value": forged, "url": base + "/"}]
    )
    response = await page.goto(base + "/enroll")
    assert response is not None and response.status == 503
    assert [c for c in await customer.cookies() if c["name"] == "portal_gateway_preview"] == []
    # The previewer's session in another browser, without the preview cookie: refused.
    session = [c for c in await previewer.cookies() if c["name"] != "portal_gateway_preview"]
    assert {c["name"] for c in session} >= {"portal_session", "portal_gateway_stamp"}
    await customer.add_cookies(
        [{"name": c["name"], "value": c["value"], "url": base + "/"} for c in session]
    )
    response = await page.goto(base + "/enroll")
    assert response is not None and response.status == 503

    # Staff re-enable: the login made during the preview has ended with the disable.
    await staff.goto(base + "/office/settings/customer-portal")
    await staff_sets_portal(staff, enabled=True)
    await gw.poller.refresh()
    await preview.goto(base + "/enroll")
    await expect(preview).to_have_url(base + "/login")
    await office.close()
    await previewer.close()
    await customer.close()
