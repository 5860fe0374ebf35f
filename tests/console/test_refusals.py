"""Refusals in words, and deadlines in colour (issue 15; R3, R12, R16, R33). A dispatch the
customer's site refuses (no safety agreement) is explained on the board in the dispatcher's
language, with the product's own detail beneath, and nothing changes; a step the ticket's
status refuses (arriving while the customer has it on hold) shows the ticket again with why
and how to lift it; a call-in with a field wrong names it and keeps what was typed, and the
same form sent twice is one ticket; on the board, a ticket past its arrival deadline is
red."""

from __future__ import annotations

import html
from importlib import resources
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.api.conftest import Api, call_in_body
from tests.console.conftest import DESK, PHONE, Console, sign_in
from tests.survey_inbox import eventually

# A zone whose arrival deadline passes a second after the call: its tickets are overdue by the
# time the board shows them.
EXPRESS = '\n[zones.express]\ncalendar = "always"\narrival_hours = 0.0003\nbranch = "city"\n'


@pytest.fixture
def api_overrides(tmp_path: Path) -> dict[str, object]:
    shipped = resources.files("models").joinpath("default_policy.toml").read_text("utf-8")
    policy = tmp_path / "policy.toml"
    policy.write_text(shipped + EXPRESS, "utf-8")
    return {"policy_file": policy}


async def test_a_dispatch_the_site_refuses_is_explained_on_the_board(
    api: Api, browser: Browser
) -> None:
    clerk, dispatcher_api = await api.users("clerk1", "disp1")
    site = {"name": "Plant No. 3", "phone": "02100000000", "address": "9 Harbour Road"}
    customer = await clerk.post("/customers", json=site | {"safety_agreement_required": True})
    product = {"serial_no": "SN-PLANT", "model": "FA-900", "customer_id": customer.json()["id"]}
    assert (await clerk.post("/products", json=product)).status_code == 201
    plant = call_in_body(customer=site, product={"model": "FA-900", "serial_no": "SN-PLANT"})
    ticket = (await clerk.post("/tickets", json=plant)).json()
    late = (await clerk.post("/tickets", json=call_in_body(zone="express"))).json()

    async def overdue_raised() -> bool:
        answer = (await clerk.get(f"/tickets/{late['id']}")).json()
        return any(e["kind"] == "arrival_overdue" for e in answer["escalations"])

    await eventually(overdue_raised)  # the deadline has passed: the board must show it red
    page = await browser.new_page(viewport=DESK, locale="en-US")
    await sign_in(page, api.base_url, "disp1")
    overdue = page.locator(f'#board article[data-ticket="{late["number"]}"] .due')
    await expect(overdue).to_have_attribute("data-urgency", "overdue")  # R16: red
    await expect(overdue).to_contain_text("Overdue by")
    card = page.locator(f'#board article[data-ticket="{ticket["number"]}"]')
    await expect(card.locator(".due")).to_have_attribute("data-urgency", "on_time")
    await card.get_by_role("combobox").select_option("tech1")
    await card.get_by_role("button", name="Dispatch").click()
    problem = page.locator("#board #problem")
    await expect(problem).to_contain_text(
        f"{ticket['number']}: The customer's site needs a valid signed safety agreement"
    )
    await expect(problem.locator(".detail")).to_contain_text("(R33)")
    after = (await dispatcher_api.get(f"/tickets/{ticket['id']}")).json()
    assert (after["status"], after["technician"]) == ("registered", None)


async def test_a_step_the_status_refuses_says_why_and_how_to_lift_it(
    api: Api, browser: Browser
) -> None:
    clerk, dispatcher = await api.users("clerk1", "disp1")
    ticket = (await clerk.post("/tickets", json=call_in_body())).json()
    sent = await dispatcher.post(
        f"/tickets/{ticket['id']}/actions/dispatch", json={"technician": "tech1"}
    )
    assert sent.status_code == 200, sent.text

    page = await browser.new_page(viewport=PHONE, locale="en-US")
    await sign_in(page, api.base_url, "tech1")
    arrive = page.locator(f'article[data-ticket="{ticket["number"]}"]').get_by_role(
        "button", name="Arrive"
    )
    await expect(arrive).to_be_visible()
    # Meanwhile the customer calls: they cannot receive the technician today (R12).
    held = await clerk.post(
        f"/tickets/{ticket['id']}/actions/hold", json={"reason": "customer away until Monday"}
    )
    assert held.status_code == 200, held.text
    await arrive.click()
    problem = page.locator("#problem")
    await expect(problem.locator(".headline")).to_have_text(
        "This step is not possible while the ticket is in its current state."
    )
    await expect(problem.locator(".detail")).to_contain_text("customer away until Monday")
    await expect(problem.locator(".detail")).to_contain_text("'resume' first")
    after = (await clerk.get(f"/tickets/{ticket['id']}")).json()
    assert after["status"] == "dispatched"


async def test_a_call_in_names_the_field_it_refuses_and_is_taken_once(api: Api) -> None:
    clerk = await Console.of(api, "clerk1")
    call = {
        "customer_name": "Li Lei",
        "customer_phone": "call me maybe",
        "customer_address": "1 Ring Road",
        "product_model": "TV-55",
        "zone": "urban",
        "problem": "no picture",
        "channel": "phone",
        "idempotency_key": "form-0001",
    }
    try:
        refused = await clerk.post("/console/call-in", call)
        assert refused.status_code == 422
        page = html.unescape(refused.text)
        assert "Some of what was entered is not valid" in page
        assert "<strong>Phone</strong>: String should match pattern" in page
        assert 'value="Li Lei"' in page and 'value="form-0001"' in page  # kept as typed
        call["customer_phone"] = "13800000000"
        first = await clerk.post("/console/call-in", call)
        again = await clerk.post("/console/call-in", call)  # the same form, sent twice (R3)
        assert first.status_code == again.status_code == 303
        assert first.headers["location"] == again.headers["location"]
    finally:
        await clerk.close()
    listed = await (await api.as_user("clerk1")).get("/tickets")
    assert listed.headers["X-Total-Count"] == "1"
