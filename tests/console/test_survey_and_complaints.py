"""The ticket page's survey and complaints (issue 15, R22-R26): once a ticket is resolved, its
page says where its survey card stands; a complaint about it is listed there, with its
status, for the roles that read complaints — and not shown to those that do not (the
accountant), whose page still says how the survey stands."""

from __future__ import annotations

import asyncio
import html
import re

from tests.api.conftest import Api
from tests.console.conftest import Console
from tests.console.test_payment_queue import invoiced


async def test_a_complaint_and_the_survey_show_on_the_ticket_page_for_those_who_read_them(
    api: Api,
) -> None:
    ticket = await invoiced(api)
    clerk_api = await api.as_user("clerk1")
    made = await clerk_api.post(
        "/complaints",
        json={
            "ticket_id": ticket["id"],
            "text": "the technician came late",
            "received_via": "phone",
        },
    )
    assert made.status_code == 201, made.text
    complaint = made.json()
    await api.users("acct1")
    clerk = await Console.of(api, "clerk1")
    accountant = await Console.of(api, "acct1")
    try:
        for _ in range(50):
            page = html.unescape((await clerk.http.get(f"/console/tickets/{ticket['id']}")).text)
            if f'data-complaint="{complaint["id"]}"' in page:
                break
            await asyncio.sleep(0.1)
        card = page[page.index('id="survey"') :]
        assert re.search(r'data-survey="(scheduled|sent)"', card)
        assert "the technician came late" in card and "Received" in card

        theirs = html.unescape((await accountant.http.get(f"/console/tickets/{ticket['id']}")).text)
        assert 'id="survey"' in theirs and "data-survey=" in theirs
        assert "the technician came late" not in theirs and "data-complaint" not in theirs
    finally:
        await clerk.close()
        await accountant.close()
