"""The payments queue (issue 15, R21): a resolved paid ticket's invoice waits for the accountant,
counted in the navigation; a part payment leaves it there with its balance, the rest takes it
off and closes the ticket. Roles that record no payment have no such page. Over plain HTTP with
the session cookie (no page script is involved)."""

from __future__ import annotations

import asyncio
import html
import re
from typing import Any

from tests.api.conftest import Api
from tests.console.conftest import Console, on_site

WAITING = re.compile(r'id="waiting-payments"[^>]*>(\d+)<')
RESOLVE = {"work_summary": "reset the board", "labor_minutes": 90, "customer_signature": "Li Lei"}


async def invoiced(api: Api) -> dict[str, Any]:
    """A paid ticket resolved on site for 180.00 (90 min at 120.00/h), once its invoice is out."""
    ticket = await on_site(api)
    technician = await api.as_user("tech1")
    answer = await technician.post(f"/tickets/{ticket['id']}/actions/resolve", json=RESOLVE)
    assert answer.status_code == 200, answer.text
    for _ in range(100):
        found: dict[str, Any] = (await technician.get(f"/tickets/{ticket['id']}")).json()
        if found.get("invoice"):
            return found
        await asyncio.sleep(0.1)
    raise AssertionError("the invoice was never issued")


async def test_the_accountant_records_payments_from_the_queue_until_the_balance_is_paid(
    api: Api,
) -> None:
    ticket = await invoiced(api)
    assert ticket["amount_due"] == "180.00"
    await api.users("acct1")
    accountant = await Console.of(api, "acct1")
    clerk = await Console.of(api, "clerk1")
    try:
        queue = await accountant.http.get("/console/payments")
        assert queue.status_code == 200
        assert WAITING.search(queue.text).group(1) == "1"  # type: ignore[union-attr]
        card = queue.text[queue.text.index(f'data-ticket="{ticket["number"]}"') :]
        assert ticket["invoice"]["number"] in card and "180.00" in card

        async def pay(amount: str) -> str:
            key = re.search(r'name="idempotency_key" value="([^"]+)"', card)
            done = await accountant.post(
                f"/console/tickets/{ticket['id']}/actions/record_payment",
                {
                    "amount": amount,
                    "method": "cash",
                    "idempotency_key": f"{key.group(1)}-{amount}",  # type: ignore[union-attr]
                    "next": "/console/payments?done=record_payment",
                },
            )
            assert (done.status_code, done.headers["location"]) == (
                303,
                "/console/payments?done=record_payment",
            ), done.text
            return html.unescape((await accountant.http.get(done.headers["location"])).text)

        after_part = await pay("80.00")
        assert "Payment recorded." in after_part
        assert WAITING.search(after_part).group(1) == "1"  # type: ignore[union-attr]
        assert "100.00" in after_part[after_part.index('class="balance"') :][:60]

        after_all = await pay("100.00")
        assert not WAITING.search(after_all)
        assert "No invoice is waiting for a payment." in after_all

        refused = await clerk.http.get("/console/payments")
        assert refused.status_code == 403
        assert "accountant" in html.unescape(refused.text)
    finally:
        await accountant.close()
        await clerk.close()
    closed = (await (await api.as_user("acct1")).get(f"/tickets/{ticket['id']}")).json()
    assert (closed["status"], closed["amount_paid"]) == ("closed", "180.00")
