"""One record per customer (issue 14): a call-in finds the customer by phone, or makes the
record from the call, and links the ticket to it — the history, products and contracts of a
customer hang together; an internal job (R1) has no customer."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import Api, call_in_body

PHONE = "13911112222"


async def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


async def test_every_call_from_one_phone_is_one_customers(api: Api) -> None:
    clerk, disp = await api.users("clerk1", "disp1")
    caller = {"name": "Han Mei", "phone": PHONE, "address": "5 Lake Road"}
    called = [
        await ok(
            await clerk.post(
                "/tickets",
                json=call_in_body(customer=caller, product={"model": "TV-55", "serial_no": serial}),
            ),
            201,
        )
        for serial in ("SN-HM-1", "SN-HM-2", "SN-HM-3")
    ]
    [customer] = await ok(await clerk.get("/customers", params={"phone": PHONE}))
    assert (customer["name"], customer["address"]) == ("Han Mei", "5 Lake Road")
    assert {ticket["customer"]["id"] for ticket in called} == {customer["id"]}
    history = await clerk.get("/tickets", params={"customer_id": customer["id"]})
    assert history.headers["X-Total-Count"] == "3"
    # Their products are theirs now (the serials were unknown before the calls).
    detail = await ok(await clerk.get(f"/customers/{customer['id']}"))
    assert sorted(p["serial_no"] for p in detail["products"]) == ["SN-HM-1", "SN-HM-2", "SN-HM-3"]
    # A step answers with the same link as the ticket's page.
    step = await ok(
        await disp.post(
            f"/tickets/{called[0]['id']}/actions/dispatch", json={"technician": "tech1"}
        )
    )
    assert step["customer"]["id"] == customer["id"]


async def test_a_known_customer_is_found_not_made_again(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    site = {"name": "Plant No. 7", "phone": "02177778888", "address": "7 Harbour Road"}
    known = await ok(await clerk.post("/customers", json=site), 201)
    body = call_in_body(customer={**site, "name": "plant 7 (front desk)"})
    ticket = await ok(await clerk.post("/tickets", json=body), 201)
    assert ticket["customer"]["id"] == known["id"]
    assert len(await ok(await clerk.get("/customers", params={"phone": site["phone"]}))) == 1


async def test_an_internal_job_has_no_customer(api: Api) -> None:
    director = await api.as_user("dir1")
    job = {"category": "training", "zone": "urban", "description": "fire alarm course"}
    made = await ok(await director.post("/tickets/internal", json=job), 201)
    assert made["customer"]["id"] is None
    assert await ok(await director.get("/customers", params={"phone": "00000"})) == []


async def test_a_customer_says_how_and_in_which_language_to_hear_from_us(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    caller = {"name": "Ann Lee", "phone": "13700001111", "address": "2 Bund", "email": "ann@x.cn"}
    await ok(await clerk.post("/tickets", json=call_in_body(customer=caller)), 201)
    [made] = await ok(await clerk.get("/customers", params={"phone": caller["phone"]}))
    assert (made["email"], made["language"], made["notify_by"]) == ("ann@x.cn", "zh", "sms")
    other = {**caller, "email": "someone@else.cn"}
    await ok(await clerk.post("/tickets", json=call_in_body(customer=other)), 201)
    changed = await ok(
        await clerk.patch(f"/customers/{made['id']}", json={"language": "en", "notify_by": "email"})
    )
    assert (changed["email"], changed["language"], changed["notify_by"]) == (
        "ann@x.cn",  # a later call does not replace the address on record
        "en",
        "email",
    )
    for wrong in ({"language": "fr"}, {"notify_by": "pigeon"}, {"email": "not-an-address"}):
        refused = await clerk.patch(f"/customers/{made['id']}", json=wrong)
        assert refused.status_code == 422, wrong
    quiet = await ok(await clerk.patch(f"/customers/{made['id']}", json={"notify_by": "none"}))
    assert quiet["notify_by"] == "none"
