"""One paid on-site ticket carried from call-in to closed by clicking, in a real Chromium
(issue 15): the clerk calls it in, finding the caller by typing the phone; the dispatcher
sends a technician from the board; the technician, on a phone, arrives and resolves it with a
part from the price list and the customer's drawn signature; the accountant records the
payment and the ticket closes (R3-R6, R21). Each role signs in by clicking and lands where
its day starts; each page fits its screen without sideways scrolling, and no page reports a
script error (the pages' Content-Security-Policy allows their own scripts and styles only)."""

from __future__ import annotations

import re
from datetime import datetime

from playwright.async_api import Browser, expect

from tests.api.conftest import Api
from tests.console.conftest import DESK, FUSE, OFFICE, PHONE, fits, new_page, sign, sign_in


async def test_a_paid_on_site_ticket_goes_from_call_in_to_closed_by_clicking(
    api: Api, browser: Browser
) -> None:
    store, clerk_api = await api.users("store1", "clerk1")
    assert (await store.post("/parts", json=FUSE)).status_code == 201
    known = {"name": "Li Lei", "phone": "13800000000", "address": "1 Ring Road"}
    assert (await clerk_api.post("/customers", json=known)).status_code == 201
    base = api.base_url
    errors: list[str] = []

    # The clerk: the call-in form finds the caller as the phone is typed (R3).
    clerk = await new_page(browser, DESK, errors)
    await sign_in(clerk, base, "clerk1")
    await expect(clerk).to_have_url(f"{base}/console/tickets")
    await clerk.get_by_role("link", name="Call-in").click()
    await fits(clerk)
    await clerk.get_by_label("Phone", exact=True).press_sequentially("138000", delay=20)
    await clerk.get_by_role("button", name=re.compile("Li Lei")).first.click()
    await expect(clerk.get_by_label("Name", exact=True)).to_have_value("Li Lei")
    await expect(clerk.get_by_label("Address")).to_have_value("1 Ring Road")
    await clerk.get_by_label("Serial number").fill("SN-77")
    await clerk.get_by_label("Model").fill("TV-55")
    await clerk.get_by_label("Problem").fill("no picture")
    await clerk.get_by_role("button", name="Register the call").click()
    await expect(clerk.locator("#done")).to_contain_text("is registered")
    number = await clerk.locator("#ticket-number").inner_text()
    ticket_id = clerk.url.split("/tickets/")[1].split("?")[0]
    ticket = (await clerk_api.get(f"/tickets/{ticket_id}")).json()
    assert ticket["number"] == number and ticket["customer"]["name"] == "Li Lei"
    due = datetime.fromisoformat(ticket["arrival_due_at"]).astimezone(OFFICE)
    await expect(clerk.locator("#arrival-due")).to_contain_text(due.strftime("%Y-%m-%d %H:%M"))
    await expect(clerk.locator("#done")).to_contain_text(due.strftime("%Y-%m-%d %H:%M"))
    workflow = clerk.get_by_role("link", name="The workflow in the Temporal Web UI")
    await expect(workflow).to_have_attribute(
        "href", re.compile(rf"/namespaces/default/workflows/ticket-{ticket_id}$")
    )
    await fits(clerk)

    # The dispatcher: the board, where the ticket waits with its working time left (R12).
    dispatcher = await new_page(browser, DESK, errors)
    await sign_in(dispatcher, base, "disp1")
    await expect(dispatcher).to_have_url(f"{base}/console/dispatch")
    card = dispatcher.locator(f'#board article[data-ticket="{number}"]')
    await expect(card.locator(".due")).to_have_attribute("data-urgency", "on_time")
    await expect(dispatcher.locator("#board")).to_have_attribute("hx-trigger", "every 15s")
    await card.get_by_role("combobox").select_option("tech1")
    await card.get_by_role("button", name="Dispatch").click()
    await expect(dispatcher.locator("#sent")).to_contain_text(number)
    await expect(dispatcher.locator('[data-technician="tech1"]')).to_contain_text(number)
    await fits(dispatcher)

    # The technician, on a phone: arrive, then resolve with a part and a signature (R4, R5).
    technician = await new_page(browser, PHONE, errors)
    await sign_in(technician, base, "tech1")
    await expect(technician).to_have_url(f"{base}/console/jobs")
    job = technician.locator(f'article[data-ticket="{number}"]')
    await fits(technician)
    await job.get_by_role("button", name="Arrive").click()
    await expect(job.locator(".badge")).to_have_text("On site")
    await job.get_by_role("link", name="Resolve").click()
    resolve = technician.locator("#step-resolve")
    await expect(resolve).to_have_attribute("open", "")
    await resolve.get_by_label("Work done").fill("replaced the fuse")
    await resolve.get_by_label("Labour (minutes)").fill("30")
    await resolve.get_by_label("Part", exact=True).select_option("FUSE-5A")
    await resolve.get_by_label("Customer's name as signed").fill("Li Lei")
    await sign(technician, resolve)
    await fits(technician)
    await resolve.get_by_role("button", name="Confirm: Resolve").click()
    await expect(technician.locator(".page-head .badge")).to_have_text("Resolved")
    await expect(technician.locator("#amount-due")).to_contain_text("72.50")  # R6: 60 + 12.50
    await expect(technician.get_by_role("link", name="Service voucher (PDF)")).to_be_visible()
    await fits(technician)
    timeline = (await clerk_api.get(f"/tickets/{ticket_id}/timeline")).json()
    resolved = next(step for step in timeline if step["action"] == "resolve")
    assert resolved["data"]["signature_image"].startswith("sha256/")  # the drawn signature
    assert resolved["data"]["parts"] == [{"part_no": "FUSE-5A", "qty": 1, "unit_price": "12.50"}]

    # The accountant finds the ticket by its number and records the payment (R21).
    accountant = await new_page(browser, DESK, errors)
    await sign_in(accountant, base, "acct1")
    await expect(accountant).to_have_url(f"{base}/console/tickets")
    await accountant.get_by_label("Phone or ticket number").fill(number)
    await accountant.get_by_role("button", name="Search").click()
    await accountant.get_by_role("link", name=number).click()
    await accountant.get_by_text("Record payment", exact=True).click()
    payment = accountant.locator("#step-record_payment")
    await expect(payment.get_by_label(re.compile("^Amount"))).to_have_value("72.50")
    await payment.get_by_label("Payment method").select_option("cash")
    await payment.get_by_role("button", name="Confirm: Record payment").click()
    await expect(accountant.locator(".page-head .badge")).to_have_text("Closed")
    await expect(accountant.locator("#amount-paid")).to_contain_text("72.50")
    await fits(accountant)

    # The director reads it closed, and opens its voucher with the session alone.
    director = await new_page(browser, DESK, errors)
    await sign_in(director, base, "dir1")
    await expect(director).to_have_url(f"{base}/console/tickets")
    await expect(director.get_by_role("row", name=re.compile(number))).to_contain_text("Closed")
    voucher = await director.request.get(
        f"{base}/console/tickets/{ticket_id}/documents/voucher.pdf"
    )
    assert voucher.status == 200 and voucher.headers["content-type"] == "application/pdf"
    final = (await clerk_api.get(f"/tickets/{ticket_id}")).json()
    assert (final["status"], final["amount_paid"]) == ("closed", "72.50")
    assert not errors  # no script, style or request the pages' policy refused
