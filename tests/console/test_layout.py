"""Every console page on a phone (390 px) and on a desk (1280 px) without sideways scrolling
(issue 15): the list's table turns into cards, the board's columns stack, forms fill the
width. The pages are shown with content: tickets in each column, a form open, matches shown."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.api.conftest import ADMIN_PASSWORD, Api, call_in_body
from tests.console.conftest import DESK, PHONE, fits, sign_in

LONG = "the display flickers and then goes dark after a few minutes of use " * 3


async def test_every_page_fits_a_phone_and_a_desk(api: Api, browser: Browser) -> None:
    clerk, dispatcher, technician = await api.users("clerk1", "disp1", "tech1")
    waiting = (await clerk.post("/tickets", json=call_in_body(problem=LONG))).json()
    sent = (await clerk.post("/tickets", json=call_in_body())).json()
    route = f"/tickets/{sent['id']}/actions"
    await dispatcher.post(f"{route}/dispatch", json={"technician": "tech1"})
    await technician.post(f"{route}/arrive")
    base = api.base_url
    for screen in (PHONE, DESK):
        page = await browser.new_page(viewport=screen, locale="en-US")
        await page.goto(f"{base}/console/login")
        await fits(page)
        await sign_in(page, base, "admin", ADMIN_PASSWORD)
        for path in (
            "/console/dispatch",
            "/console/tickets",
            "/console/approvals",
            "/console/escalations",
            "/console/payments",
            f"/console/tickets/{waiting['id']}?open=dispatch",
            "/console/no-such-page",
        ):
            await page.goto(base + path)
            await fits(page)
        await page.goto(f"{base}/console/call-in")
        await page.get_by_label("Phone", exact=True).press_sequentially("13800", delay=20)
        await expect(page.locator("#customer-matches button").first).to_be_visible()
        await fits(page)
        await page.close()

        page = await browser.new_page(viewport=screen, locale="en-US")
        await sign_in(page, base, "tech1")
        await fits(page)  # my jobs
        await page.goto(f"{base}/console/tickets/{sent['id']}?open=resolve")
        await page.get_by_role("button", name="Add a part").click()
        await fits(page)
        await page.close()
