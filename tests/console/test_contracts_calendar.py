"""The contracts' calendar (issue 15, R31, R32): a month of every contract's events, in a grid
of weeks and as a list by day, from the same calendar as `GET /contracts/{id}/calendar`; the
next and previous months a link away; only the roles that read contracts open it. On a phone
the list replaces the grid, and neither scrolls sideways."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from playwright.async_api import Browser, expect

from api.console.contracts import shifted
from tests.api.conftest import ADMIN_PASSWORD, Api
from tests.api.test_contracts import calendar, contract
from tests.console.conftest import DESK, PHONE, Console, fits, sign_in

TODAY = date.today()
NEXT = re.compile(r'href="/console/contracts\?month=([0-9-]+)" rel="next"')


def cell(page: str, day: str) -> str:
    """The grid's cell of `day` (YYYY-MM-DD)."""
    found = re.search(rf'data-day="{day}">(.*?)</div>', page, re.S)
    assert found is not None, f"no cell for {day}"
    return found.group(1)


def inspections(events: list[dict[str, Any]]) -> list[str]:
    return [event["on"] for event in events if event["kind"] == "inspection"]


async def test_the_calendar_shows_a_contracts_next_inspection_and_moves_to_the_next_month(
    api: Api,
) -> None:
    made = await contract(api, "SN-CONSOLE-CAL", TODAY + timedelta(days=3))
    first, second = inspections(await calendar(api, made["id"]))[:2]  # R32: monthly
    clerk = await Console.of(api, "clerk1")
    try:
        page = await clerk.http.get("/console/contracts", params={"month": first[:7]})
        assert page.status_code == 200, page.text
        shown = cell(page.text, first)
        assert 'data-kind="inspection"' in shown and f'data-contract="{made["number"]}"' in shown
        assert "Plant No. 3" in shown  # the customer
        assert (
            f'href="#contract-{made["id"]}"' in shown and f'id="contract-{made["id"]}"' in page.text
        )
        assert f'data-agenda="{first}"' in page.text  # and in the list by day

        following = NEXT.search(page.text)
        assert following is not None and following.group(1) == shifted(date.fromisoformat(first), 1)
        page = await clerk.http.get(f"/console/contracts?month={following.group(1)}")
        assert second.startswith(following.group(1))
        assert 'data-kind="inspection"' in cell(page.text, second)

        before = await clerk.http.get("/console/contracts", params={"month": "2001-01"})
        assert "No contract events this month." in before.text
        wrong = await clerk.http.get("/console/contracts", params={"month": "2026-13"})
        assert wrong.status_code == 422
    finally:
        await clerk.close()


async def test_a_role_that_may_not_read_contracts_gets_the_403_page(api: Api) -> None:
    technician = await Console.of(api, "tech1")
    try:
        refused = await technician.http.get("/console/contracts")
        assert refused.status_code == 403
        assert "Your role does not allow this." in refused.text
        assert 'href="/console/contracts"' not in refused.text  # not in the navigation
    finally:
        await technician.close()


async def test_the_calendar_fits_a_phone_and_a_desk(api: Api, browser: Browser) -> None:
    made = await contract(api, "SN-CONSOLE-FIT", TODAY)
    month = inspections(await calendar(api, made["id"]))[0][:7]
    for screen in (PHONE, DESK):
        page = await browser.new_page(viewport=screen, locale="en-US")
        await sign_in(page, api.base_url, "admin", ADMIN_PASSWORD)
        await page.goto(f"{api.base_url}/console/contracts?month={month}")
        grid, days = page.locator(".month-grid"), page.locator(".day-list")
        await expect(days.locator(f'[data-contract="{made["number"]}"]').first).to_be_visible()
        if screen is PHONE:
            await expect(grid).to_be_hidden()  # the list instead of the grid
        else:
            await expect(grid.locator('[data-kind="inspection"]').first).to_be_visible()
        await fits(page)
        await page.close()
