"""Billing over HTTP: each service type's fee (R1, R2, R21), the two ways a paid fee is
collected (R6), gapless invoice numbers (R21), and the free warranty carry-in (R8, R9).

The products, warranties and contracts are created through the catalog API, so the service
type a call-in gets is the one the records decide (R2)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api.conftest import Api, call_in_body

# The entitlement reads, invoice counters and payments run on both databases; rules that only
TODAY = datetime.now(UTC).date()
DAY = timedelta(days=1)
PROMISED_BY = (datetime.now(UTC) + timedelta(days=3)).isoformat()
# 90 min at the policy's 120.00/h is 180.00; 2 × 12.50 in parts is 25.00 (R21).
PARTS = [{"part_no": "FUSE-5A", "qty": 2, "unit_price": "12.50"}]
RESOLVE = {
    "work_summary": "replaced two fuses",
    "labor_minutes": 90,
    "parts": PARTS,
    "customer_signature": "Li Lei",
}


async def created(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await client.post(path, json=body)
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def product_on_record(
    api: Api, serial_no: str, **fields: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A customer and their product, as the clerk keeps them in the catalog."""
    clerk = await api.as_user("clerk1")
    customer = await created(
        clerk, "/customers", {"name": "Li Lei", "phone": "13800000000", "address": "1 Ring Road"}
    )
    product = await created(
        clerk,
        "/products",
        {"serial_no": serial_no, "model": "TV-55", "customer_id": customer["id"], **fields},
    )
    return customer, product


async def contract_on(
    api: Api, customer: dict[str, Any], product: dict[str, Any], **terms: Any
) -> dict[str, Any]:
    """A maintenance contract running from a month ago to most of a year ahead."""
    clerk = await api.as_user("clerk1")
    return await created(
        clerk,
        "/contracts",
        {
            "customer_id": customer["id"],
            "product_id": product["id"],
            "starts_on": (TODAY - 30 * DAY).isoformat(),
            "ends_on": (TODAY + 335 * DAY).isoformat(),
            **terms,
        },
    )


async def call_in(api: Api, serial_no: str | None = "SN-1") -> dict[str, Any]:
    clerk = await api.as_user("clerk1")
    body = call_in_body(product={"model": "TV-55", "serial_no": serial_no})
    return await created(clerk, "/tickets", body)


async def on_site(api: Api, ticket: dict[str, Any]) -> str:
    """Dispatches the ticket to tech1, who arrives (R4, R5)."""
    disp, tech = await api.users("disp1", "tech1")
    tid = str(ticket["id"])
    answer = await disp.post(f"/tickets/{tid}/actions/dispatch", json={"technician": "tech1"})
    assert answer.status_code == 200, answer.text
    answer = await tech.post(f"/tickets/{tid}/actions/arrive", json={})
    assert answer.json()["status"] == "on_site", answer.text
    return tid


async def company_responsible(api: Api, tid: str) -> None:
    """R20: the workshop manager finds the defect the company's to pay."""
    manager = await api.as_user("mgr1")
    decided = await manager.post(
        f"/tickets/{tid}/actions/decide_responsibility",
        json={"party": "company", "reason": "a factory defect"},
    )
    assert decided.status_code == 200, decided.text


async def resolve(api: Api, tid: str, **overrides: Any) -> httpx.Response:
    tech = await api.as_user("tech1")
    return await tech.post(f"/tickets/{tid}/actions/resolve", json={**RESOLVE, **overrides})


async def resolved(api: Api, tid: str, **overrides: Any) -> dict[str, Any]:
    answer = await resolve(api, tid, **overrides)
    assert answer.status_code == 200, answer.text
    ticket: dict[str, Any] = answer.json()
    return ticket


async def pay(api: Api, tid: str, amount: str, method: str = "cash") -> httpx.Response:
    acct = await api.as_user("acct1")
    return await acct.post(
        f"/tickets/{tid}/actions/record_payment", json={"amount": amount, "method": method}
    )


async def invoices(api: Api) -> list[dict[str, Any]]:
    acct = await api.as_user("acct1")
    answer = await acct.get("/invoices")
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Total-Count"] == str(len(answer.json()))
    listed: list[dict[str, Any]] = answer.json()
    return listed


async def timeline(api: Api, tid: str) -> list[dict[str, Any]]:
    clerk = await api.as_user("clerk1")
    steps: list[dict[str, Any]] = (await clerk.get(f"/tickets/{tid}/timeline")).json()
    return steps


# --- each service type's billing (R1, R2, R21) ------------------------------------------------


async def test_warranty_repair_is_free_and_closes_without_an_invoice(api: Api) -> None:
    # R2: an unexpired warranty gives `warranty`, and the evidence shows its last day.
    until = TODAY + 100 * DAY
    await product_on_record(api, "SN-W1", warranty_until=until.isoformat())
    ticket = await call_in(api, "SN-W1")
    assert ticket["service_type"] == "warranty"
    assert ticket["evidence"]["warranty_until"] == until.isoformat()
    assert (await timeline(api, ticket["id"]))[0]["data"]["service_type"] == "warranty"

    # R1, R20, R21: the company's defect: labour and parts are recorded, the customer owes
    # nothing.
    tid = await on_site(api, ticket)
    await company_responsible(api, tid)
    done = await resolved(api, tid)
    assert done["status"] == "closed"
    assert (done["amount_due"], done["amount_paid"]) == ("0.00", "0.00")
    assert done["invoice"] is None and done["allowed_actions"] == []
    steps = await timeline(api, ticket["id"])
    assert [s["action"] for s in steps][-2:] == ["resolve", "close"]
    assert steps[-2]["data"]["labor_minutes"] == 90 and steps[-2]["data"]["parts"] == PARTS
    assert await invoices(api) == []


@pytest.mark.both_databases
async def test_contract_covering_labour_charges_and_invoices_only_the_parts(api: Api) -> None:
    # R2: an active contract gives `contract`; R21: charged as the contract says.
    customer, product = await product_on_record(api, "SN-C1")
    contract = await contract_on(api, customer, product, covers_labor=True, covers_parts=False)
    ticket = await call_in(api, "SN-C1")
    assert ticket["service_type"] == "contract"
    assert ticket["evidence"]["contract"] == contract["number"]

    done = await resolved(api, await on_site(api, ticket))
    assert done["status"] == "resolved"
    assert done["amount_due"] == "25.00"  # the two fuses; the 90 minutes are covered
    assert done["invoice"]["amount"] == "25.00"
    [invoice] = await invoices(api)
    assert invoice["number"] == done["invoice"]["number"] and invoice["amount"] == "25.00"
    assert invoice["ticket_id"] == ticket["id"]

    paid = await pay(api, ticket["id"], "25.00")
    assert paid.json()["status"] == "closed", paid.text


async def test_contract_covering_labour_and_parts_is_free(api: Api) -> None:
    # R2: an active contract comes before a running warranty; R21: it covers everything here.
    customer, product = await product_on_record(
        api, "SN-C2", warranty_until=(TODAY + 10 * DAY).isoformat()
    )
    await contract_on(api, customer, product, covers_labor=True, covers_parts=True)
    ticket = await call_in(api, "SN-C2")
    assert ticket["service_type"] == "contract"

    done = await resolved(api, await on_site(api, ticket))
    assert done["status"] == "closed"
    assert done["amount_due"] == "0.00" and done["invoice"] is None
    assert await invoices(api) == []


@pytest.mark.both_databases
async def test_unknown_serial_and_expired_warranty_are_paid_with_evidence(api: Api) -> None:
    # R2: an unknown serial is `paid`, and the product is on record from then on.
    clerk = await api.as_user("clerk1")
    unknown = await call_in(api, "SN-NEW-1")
    assert unknown["service_type"] == "paid"
    assert unknown["evidence"]["reason"]
    found = (await clerk.get("/products", params={"serial_no": "SN-NEW-1"})).json()
    assert [(p["serial_no"], p["model"]) for p in found] == [("SN-NEW-1", "TV-55")]

    # R2: a warranty that ended yesterday is `paid`; the evidence says when it ended.
    ended = TODAY - DAY
    await product_on_record(api, "SN-OLD-1", warranty_until=ended.isoformat())
    expired = await call_in(api, "SN-OLD-1")
    assert expired["service_type"] == "paid"
    assert expired["evidence"]["warranty_until"] == ended.isoformat()
    assert "expired" in expired["evidence"]["reason"]

    # R2: only an *active* contract counts; one that ended last month leaves the job paid.
    customer, product = await product_on_record(api, "SN-OLD-2")
    lapsed = await contract_on(
        api,
        customer,
        product,
        starts_on=(TODAY - 400 * DAY).isoformat(),
        ends_on=(TODAY - 30 * DAY).isoformat(),
    )
    after_contract = await call_in(api, "SN-OLD-2")
    assert after_contract["service_type"] == "paid"
    assert lapsed["number"] in after_contract["evidence"]["reason"]

    # R21: labour at the policy's 120.00/h plus parts, invoiced.
    done = await resolved(api, await on_site(api, expired))
    assert done["status"] == "resolved" and done["amount_due"] == "205.00"
    assert done["invoice"]["amount"] == "205.00"


# --- collecting a paid fee (R6) ---------------------------------------------------------------


async def test_small_fee_collected_on_site_is_invoiced_paid_and_closed(api: Api) -> None:
    # R6: up to the policy's small_fee_threshold (200.00) the technician collects on the spot.
    tid = await on_site(api, await call_in(api))
    parts = [{"part_no": "BOARD-1", "qty": 2, "unit_price": "40.00"}]
    done = await resolved(api, tid, labor_minutes=60, parts=parts, collected_on_site=True)
    assert done["status"] == "closed"  # exactly the threshold: 120.00 + 80.00
    assert (done["amount_due"], done["amount_paid"]) == ("200.00", "200.00")
    assert done["invoice"]["amount"] == "200.00"
    acct = await api.as_user("acct1")
    payments = (await acct.get(f"/tickets/{tid}/payments")).json()
    assert [(p["amount"], p["method"], p["recorded_by"]) for p in payments] == [
        ("200.00", "collected_on_site", "tech1")
    ]
    assert [i["number"] for i in await invoices(api)] == [done["invoice"]["number"]]


async def test_fee_above_the_threshold_is_not_collected_on_site_but_invoiced(api: Api) -> None:
    # R6: above the threshold the on-site collection is refused, naming the limit ...
    tid = await on_site(api, await call_in(api))
    parts = [{"part_no": "BOARD-1", "qty": 1, "unit_price": "80.01"}]
    before = await timeline(api, tid)
    refused = await resolve(api, tid, labor_minutes=60, parts=parts, collected_on_site=True)
    assert refused.status_code == 422, refused.text
    assert "200.00" in refused.json()["detail"] and "200.01" in refused.json()["detail"]
    tech = await api.as_user("tech1")
    assert (await tech.get(f"/tickets/{tid}")).json()["status"] == "on_site"
    assert await timeline(api, tid) == before
    assert await invoices(api) == []

    # ... and without collecting, the invoice is issued the same day and the fee collected
    # afterwards.
    done = await resolved(api, tid, labor_minutes=60, parts=parts)
    assert done["status"] == "resolved"
    assert (done["amount_due"], done["amount_paid"]) == ("200.01", "0.00")
    resolved_at = datetime.fromisoformat((await timeline(api, tid))[-1]["at"])
    issued_at = datetime.fromisoformat(done["invoice"]["issued_at"])
    assert issued_at.date() == resolved_at.date()
    acct = await api.as_user("acct1")
    assert (await acct.get(f"/tickets/{tid}/payments")).json() == []

    part = await pay(api, tid, "100.00")
    assert part.status_code == 200 and part.json()["status"] == "resolved"
    assert part.json()["amount_paid"] == "100.00"
    steps = len(await timeline(api, tid))
    too_much = await pay(api, tid, "100.02")
    assert too_much.status_code == 422, too_much.text
    assert "100.01" in too_much.json()["detail"]  # what is still outstanding
    assert len(await timeline(api, tid)) == steps
    rest = await pay(api, tid, "100.01", "transfer")
    assert rest.json()["status"] == "closed" and rest.json()["amount_paid"] == "200.01"
    payments = (await acct.get(f"/tickets/{tid}/payments")).json()
    assert [(p["amount"], p["method"], p["recorded_by"]) for p in payments] == [
        ("100.00", "cash", "acct1"),
        ("100.01", "transfer", "acct1"),
    ]


@pytest.mark.both_databases
async def test_two_payments_at_once_never_overpay(api: Api) -> None:
    # R21: payments are recorded against the invoice; two at once that together exceed it
    # are one accepted, one refused.
    tid = await on_site(api, await call_in(api))
    assert (await resolved(api, tid))["amount_due"] == "205.00"
    answers = await asyncio.gather(pay(api, tid, "150.00"), pay(api, tid, "150.00", "card"))
    assert sorted(a.status_code for a in answers) == [200, 422], [a.text for a in answers]
    acct = await api.as_user("acct1")
    ticket = (await acct.get(f"/tickets/{tid}")).json()
    assert (ticket["status"], ticket["amount_paid"]) == ("resolved", "150.00")
    assert [p["amount"] for p in (await acct.get(f"/tickets/{tid}/payments")).json()] == ["150.00"]
    actions = [s["action"] for s in await timeline(api, tid)]
    assert actions.count("record_payment") == 1


@pytest.mark.both_databases
async def test_invoice_numbers_run_without_gaps_across_tickets(api: Api) -> None:
    # R21: one invoice per chargeable job, numbered INV-<year>-<seq> without gaps; a job with
    # nothing to pay takes no number.
    year = datetime.now(UTC).year
    first = await resolved(api, await on_site(api, await call_in(api)))
    free = await resolved(api, await on_site(api, await call_in(api)), labor_minutes=0, parts=[])
    second = await resolved(api, await on_site(api, await call_in(api)))
    assert free["status"] == "closed" and free["invoice"] is None
    assert [first["invoice"]["number"], second["invoice"]["number"]] == [
        f"INV-{year}-000001",
        f"INV-{year}-000002",
    ]
    # Resolved at the same moment, they still take the next numbers, once each.
    tids = [await on_site(api, await call_in(api)) for _ in range(3)]
    together = await asyncio.gather(*(resolved(api, tid) for tid in tids))
    assert sorted(t["invoice"]["number"] for t in together) == [
        f"INV-{year}-{n:06d}" for n in (3, 4, 5)
    ]

    listed = await invoices(api)
    assert [i["number"] for i in listed] == [f"INV-{year}-{n:06d}" for n in (5, 4, 3, 2, 1)]
    acct = await api.as_user("acct1")
    for ticket in (first, second, *together):
        invoice = (await acct.get(f"/invoices/{ticket['invoice']['number']}")).json()
        assert invoice["ticket_id"] == ticket["id"]
        assert invoice["amount"] == ticket["invoice"]["amount"] == ticket["amount_due"]
        assert datetime.fromisoformat(invoice["issued_at"]) == datetime.fromisoformat(
            ticket["invoice"]["issued_at"]
        )
        assert [line["amount"] for line in invoice["lines"]] == ["205.00"]
    missing = await acct.get(f"/invoices/INV-{year}-000006")
    assert missing.status_code == 404


# --- carry-in under warranty (R8, R9) ---------------------------------------------------------


async def test_warranty_carry_in_is_free_and_closes_on_return(api: Api) -> None:
    # R9 invoices a *paid* carry-in on return (tests/api/test_carry_in.py); under warranty
    # the repair is recorded on the card but nothing is charged, and the return closes it.
    await product_on_record(api, "SN-W2", warranty_until=(TODAY + 30 * DAY).isoformat())
    ticket = await call_in(api, "SN-W2")
    assert ticket["service_type"] == "warranty"
    tid = await on_site(api, ticket)
    await company_responsible(api, tid)
    tech, director = await api.users("tech1", "dir1")
    steps = [
        (tech, "carry_in", {"customer_signature": "Li Lei", "promised_by": PROMISED_BY}),
        (tech, "record_repair", {"labor_minutes": 120, "parts": PARTS, "notes": "new fuses"}),
        (director, "inspect", {"passed": True, "notes": "picture ok"}),
    ]
    for user, action, body in steps:
        answer = await user.post(f"/tickets/{tid}/actions/{action}", json=body)
        assert answer.status_code == 200, answer.text
    returned = await tech.post(
        f"/tickets/{tid}/actions/return", json={"customer_signature": "Li Lei"}
    )
    done = returned.json()
    assert done["status"] == "closed", returned.text
    assert done["amount_due"] == "0.00" and done["invoice"] is None
    card = (await tech.get(f"/tickets/{tid}/repair-card")).json()
    assert [(r["labor_minutes"], r["fee"]) for r in card["rounds"]] == [(120, "0.00")]
    assert card["receipt"]["voided_at"] is not None
    assert [s["action"] for s in await timeline(api, tid)][-2:] == ["return", "close"]
    assert await invoices(api) == []


# --- a contract's own terms (R13) ------------------------------------------------------------


def hours_to_arrive(ticket: dict[str, Any]) -> float:
    due = datetime.fromisoformat(ticket["arrival_due_at"])
    return (due - datetime.fromisoformat(ticket["created_at"])).total_seconds() / 3600


async def test_a_contracts_arrival_hours_replace_the_zones_and_stay_with_the_ticket(
    api: Api,
) -> None:
    # R13 "remote places as the contract says": in a 24-hour zone (ring_1, 1 hour), a contract
    # promising 3 hours gives its tickets 3; a later change to the contract moves no ticket.
    clerk = await api.as_user("clerk1")
    customer, product = await product_on_record(api, "SN-REMOTE-1")
    contract = await contract_on(api, customer, product, arrival_hours=3)
    assert contract["arrival_hours"] == 3
    body = call_in_body(product={"model": "TV-55", "serial_no": "SN-REMOTE-1"}, zone="ring_1")
    covered = (await clerk.post("/tickets", json=body)).json()
    assert covered["service_type"] == "contract"
    assert abs(hours_to_arrive(covered) - 3) < 0.01
    changed = await clerk.patch(f"/contracts/{contract['id']}", json={"arrival_hours": 8})
    assert changed.status_code == 200, changed.text
    again = (await clerk.get(f"/tickets/{covered['id']}")).json()
    assert again["arrival_due_at"] == covered["arrival_due_at"]
    # Without a contract, the zone's hour.
    other = call_in_body(product={"model": "TV-55", "serial_no": "SN-OTHER"}, zone="ring_1")
    assert abs(hours_to_arrive((await clerk.post("/tickets", json=other)).json()) - 1) < 0.01
    bad = await clerk.patch(f"/contracts/{contract['id']}", json={"arrival_hours": 0})
    assert bad.status_code == 422 and "arrival_hours" in bad.text
