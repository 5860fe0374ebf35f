"""One paid ticket carried in to the workshop and repaired, by clicking, in a real Chromium
(issue 15): the technician, on a phone, carries the product in with the customer's drawn
signature and a promised time typed in office time (R7, R10), and quotes it with a part from
the price list; the clerk records the customer's acceptance (R19); a first repair round fails
the director's inspection and a second passes (R8); the technician returns the product with
the customer's signature and the page shows the invoice (R9); the accountant records the
payment and the ticket closes (R21). No page reports a script error, and each fits its screen."""

from __future__ import annotations

from datetime import datetime, timedelta

from playwright.async_api import Browser, Page, expect

from tests.api.conftest import Api
from tests.console.conftest import (
    DESK,
    FUSE,
    OFFICE,
    PHONE,
    fits,
    on_site,
    open_step,
    sign,
    signed_in,
)

STATUS = ".page-head .badge"


async def take(page: Page, step: str, label: str) -> None:
    """Confirms the step's form (once the caller filled it in)."""
    await page.locator(f"#step-{step}").get_by_role("button", name=f"Confirm: {label}").click()


async def test_a_carried_in_ticket_is_repaired_inspected_returned_and_paid_by_clicking(
    api: Api, browser: Browser
) -> None:
    store, clerk_api = await api.users("store1", "clerk1")
    assert (await store.post("/parts", json=FUSE)).status_code == 201
    ticket_id = (await on_site(api))["id"]
    base = api.base_url
    address = f"{base}/console/tickets/{ticket_id}"
    errors: list[str] = []

    # The technician, on site and on a phone: carries the product in, quotes the repair (R7, R19).
    technician = await signed_in(browser, PHONE, errors, base, "tech1", address)
    await expect(technician.locator(STATUS)).to_have_text("On site")
    promised = (datetime.now(OFFICE) + timedelta(days=3)).replace(hour=15, minute=30)
    carry_in = await open_step(technician, "carry_in")
    typed = promised.strftime("%Y-%m-%dT%H:%M")
    await carry_in.get_by_label("Promised by (office time)").fill(typed)
    await carry_in.get_by_label("Customer's name as signed").fill("Li Lei")
    await sign(technician, carry_in)
    await fits(technician)
    await take(technician, "carry_in", "Carry in")
    await expect(technician.locator(STATUS)).to_have_text("In the workshop")
    quote = await open_step(technician, "quote")
    await quote.get_by_label("Labour (minutes)").fill("90")
    await quote.get_by_label("Part", exact=True).select_option("FUSE-5A")
    await take(technician, "quote", "Quote")
    await expect(technician.locator("#done")).to_contain_text("Quote")
    carried = (await clerk_api.get(f"/tickets/{ticket_id}/timeline")).json()
    step = next(step for step in carried if step["action"] == "carry_in")
    assert step["data"]["signature_image"].startswith("sha256/")  # the drawn signature
    when = datetime.fromisoformat(step["data"]["promised_by"]).astimezone(OFFICE)
    assert when.strftime("%Y-%m-%d %H:%M") == promised.strftime("%Y-%m-%d %H:%M")  # office time

    # The clerk records the customer's acceptance of the quotation (R19).
    clerk = await signed_in(browser, DESK, errors, base, "clerk1", address)
    accept = await open_step(clerk, "accept_quote")
    await expect(accept.locator("#quotation-amount")).to_contain_text("192.50")  # 180 + 12.50
    await accept.get_by_label("Customer's name as signed").fill("Li Lei")
    await take(clerk, "accept_quote", "Quotation accepted")
    await expect(clerk.locator("#done")).to_contain_text("Quotation accepted")
    await fits(clerk)

    # A first round fails the director's inspection, a second passes (R8).
    director = await signed_in(browser, DESK, errors, base, "dir1")
    rounds = (
        ("30", "cleaned the board", "Failed: back to repair", "still no picture"),
        ("60", "replaced the fuse", "Passed", "picture fine"),
    )
    for minutes, notes, verdict, seen in rounds:
        await technician.reload()
        repair = await open_step(technician, "record_repair")
        await repair.get_by_label("Labour (minutes)").fill(minutes)
        if verdict == "Passed":
            await repair.get_by_label("Part", exact=True).select_option("FUSE-5A")
        await repair.get_by_label("Repair notes").fill(notes)
        await take(technician, "record_repair", "Record repair")
        await expect(technician.locator(STATUS)).to_have_text("Repaired")
        await director.goto(address)
        inspect = await open_step(director, "inspect")
        await inspect.get_by_label(verdict).check()
        await inspect.get_by_label("Inspection notes").fill(seen)
        await take(director, "inspect", "Inspect")
        after = "Ready for return" if verdict == "Passed" else "In the workshop"
        await expect(director.locator(STATUS)).to_have_text(after)
        await expect(director.locator('[data-passed="no"]')).to_contain_text(
            "Failed: back to repair"
        )
    await fits(director)

    # The technician returns the product with the customer's signature: invoiced (R9).
    await technician.reload()
    give_back = await open_step(technician, "return")
    await give_back.get_by_label("Customer's name as signed").fill("Li Lei")
    await sign(technician, give_back)
    await take(technician, "return", "Return")
    await expect(technician.locator(STATUS)).to_have_text("Resolved")
    await expect(technician.locator("#invoice-number")).to_contain_text("INV-")
    await expect(technician.locator("#amount-due")).to_contain_text("192.50")  # 60 + 120 + 12.50
    await fits(technician)

    # The accountant records the payment and the ticket closes (R21).
    accountant = await signed_in(browser, DESK, errors, base, "acct1", address)
    payment = await open_step(accountant, "record_payment")
    await payment.get_by_label("Payment method").select_option("transfer")
    await take(accountant, "record_payment", "Record payment")
    await expect(accountant.locator(STATUS)).to_have_text("Closed")
    card = (await clerk_api.get(f"/tickets/{ticket_id}/repair-card")).json()
    assert [(r["round"], r["inspection_passed"]) for r in card["rounds"]] == [(1, False), (2, True)]
    final = (await clerk_api.get(f"/tickets/{ticket_id}")).json()
    assert (final["status"], final["amount_paid"]) == ("closed", "192.50")
    assert not errors  # no script, style or request the pages' policy refused
