"""The approvals queue (issue 15, R17): a clerk's discount beyond the advisor's limit (the
shipped policy: up to 10 %) waits for the director; the director sees it counted in the
navigation, approves it from the queue by clicking, and the ticket shows it granted. A
rejection without its reason is refused with the field named, and changes nothing."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.api.conftest import Api
from tests.console.conftest import DESK, PHONE, Console, fits, on_site, open_step, signed_in


async def test_a_director_approves_a_clerks_discount_from_the_queue(
    api: Api, browser: Browser
) -> None:
    clerk_api = await api.as_user("clerk1")
    ticket = await on_site(api)
    base = api.base_url
    address = f"{base}/console/tickets/{ticket['id']}"
    errors: list[str] = []

    # The clerk asks for 15 % off: beyond their 10 %, it waits for the director.
    clerk = await signed_in(browser, DESK, errors, base, "clerk1", address)
    discount = await open_step(clerk, "discount")
    await discount.get_by_label("Percent off the invoice").fill("15")
    await discount.get_by_label("Reason").fill("second visit")
    await discount.get_by_role("button", name="Confirm: Discount").click()
    await expect(clerk.locator("#discount")).to_have_attribute("data-decision", "pending")
    await expect(clerk.locator("#waiting-approvals")).to_have_count(0)  # not theirs to decide

    # A rejection must say why: refused, nothing decided.
    [approval] = (await clerk_api.get(f"/tickets/{ticket['id']}")).json()["approvals"]
    director_http = await Console.of(api, "dir1")
    try:
        unexplained = await director_http.post(
            f"/console/approvals/{approval['id']}/decision", {"decision": "reject", "reason": " "}
        )
        assert unexplained.status_code == 422, unexplained.text
        assert "Some of what was entered is not valid" in unexplained.text
    finally:
        await director_http.close()

    # The director: the count in the navigation, the queue, one click.
    director = await signed_in(browser, PHONE, errors, base, "dir1")
    await expect(director.locator("#waiting-approvals")).to_have_text("1")
    await director.get_by_role("link", name="Approvals").click()
    waiting = director.locator(f'#mine-title ~ article[data-ticket="{ticket["number"]}"]')
    await expect(waiting).to_contain_text("second visit")
    await expect(waiting).to_contain_text("15.00 %")
    await fits(director)
    await waiting.get_by_role("button", name="Approve").click()
    await expect(director.locator("#done")).to_have_text("Approved.")
    await expect(director.locator("#waiting-approvals")).to_have_count(0)
    await expect(director.locator('[data-decision="approved"]')).to_have_count(1)
    await director.get_by_role("link", name=ticket["number"]).click()
    await expect(director.locator("#discount")).to_have_attribute("data-decision", "granted")
    await expect(director.locator("#discount")).to_contain_text("dir1")

    final = (await clerk_api.get(f"/tickets/{ticket['id']}")).json()
    assert final["work_order"]["discount"]["status"] == "granted"
    assert final["approvals"][0]["decided_by"] == "dir1"
    assert not errors
