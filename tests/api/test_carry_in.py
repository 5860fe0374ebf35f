"""Carry-in repair over HTTP: receipt, in/out register, repair card, inspection, return and
billing on the day of return (R7, R8, R9, R21)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.api.conftest import Api, call_in_body

PROMISED_BY = (datetime.now(UTC) + timedelta(days=3)).isoformat()


async def carried_in(api: Api) -> str:
    clerk, disp, tech = await api.users("clerk1", "disp1", "tech1")
    tid = (await clerk.post("/tickets", json=call_in_body())).json()["id"]
    await disp.post(f"/tickets/{tid}/actions/dispatch", json={"technician": "tech1"})
    await tech.post(f"/tickets/{tid}/actions/arrive", json={})
    answer = await tech.post(
        f"/tickets/{tid}/actions/carry_in",
        json={"customer_signature": "Li Lei", "promised_by": PROMISED_BY},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "carried_in"
    # R19: a paid repair starts once the customer accepts the quotation.
    quoted = await tech.post(f"/tickets/{tid}/actions/quote", json={"labor_minutes": 90})
    assert quoted.status_code == 200, quoted.text
    accepted = await clerk.post(
        f"/tickets/{tid}/actions/accept_quote", json={"customer_signature": "Li Lei"}
    )
    assert accepted.status_code == 200, accepted.text
    return str(tid)


async def test_failed_inspection_returns_to_repair_and_both_rounds_stay_on_the_card(
    api: Api,
) -> None:
    # R7, R8, R9: two repair rounds, the first failing inspection; invoiced on return.
    tid = await carried_in(api)
    tech, director, acct = await api.users("tech1", "dir1", "acct1")
    card = (await tech.get(f"/tickets/{tid}/repair-card")).json()
    receipt = card["receipt"]["number"]
    assert receipt.startswith("PR-T") and card["receipt"]["voided_at"] is None
    register = (await tech.get("/register", params={"in_workshop": "true"})).json()
    assert [line["receipt_number"] for line in register] == [receipt]

    first = {"labor_minutes": 30, "parts": [], "notes": "replaced nothing, cleaned board"}
    assert (await tech.post(f"/tickets/{tid}/actions/record_repair", json=first)).json()[
        "status"
    ] == "repaired"
    # R8: only a supervisor inspects; a technician is refused.
    refused = await tech.post(
        f"/tickets/{tid}/actions/inspect", json={"passed": True, "notes": "fine"}
    )
    assert refused.status_code == 403
    failed = await director.post(
        f"/tickets/{tid}/actions/inspect", json={"passed": False, "notes": "still no picture"}
    )
    assert failed.json()["status"] == "carried_in"
    second = {
        "labor_minutes": 60,
        "parts": [{"part_no": "MAINBOARD-55", "qty": 1, "unit_price": "300.00"}],
        "notes": "replaced main board",
    }
    await tech.post(f"/tickets/{tid}/actions/record_repair", json=second)
    passed = await director.post(
        f"/tickets/{tid}/actions/inspect", json={"passed": True, "notes": "picture ok"}
    )
    assert passed.json()["status"] == "ready_for_return"

    returned = await tech.post(
        f"/tickets/{tid}/actions/return", json={"customer_signature": "Li Lei"}
    )
    ticket = returned.json()
    assert ticket["status"] == "resolved"
    # 30 min + 60 min at 120.00/h, plus the board: both rounds are charged (R8 actual labour).
    assert ticket["amount_due"] == "480.00"
    assert (
        ticket["invoice"]["number"].startswith("INV-") and ticket["invoice"]["amount"] == "480.00"
    )

    card = (await tech.get(f"/tickets/{tid}/repair-card")).json()
    assert [(r["round"], r["inspection_passed"]) for r in card["rounds"]] == [
        (1, False),
        (2, True),
    ]
    assert card["receipt"]["voided_at"] is not None
    assert (await tech.get("/register", params={"in_workshop": "true"})).json() == []
    out = (await tech.get("/register", params={"in_workshop": "false"})).json()
    assert out[0]["checked_out_at"] is not None

    invoice = (await acct.get(f"/invoices/{ticket['invoice']['number']}")).json()
    assert [line["amount"] for line in invoice["lines"]] == ["60.00", "420.00"]
    paid = await acct.post(
        f"/tickets/{tid}/actions/record_payment", json={"amount": "480.00", "method": "transfer"}
    )
    assert paid.json()["status"] == "closed"
    assert [p["amount"] for p in (await acct.get(f"/tickets/{tid}/payments")).json()] == ["480.00"]


async def test_promised_date_in_the_past_is_refused(api: Api) -> None:
    clerk, disp, tech = await api.users("clerk1", "disp1", "tech1")
    tid = (await clerk.post("/tickets", json=call_in_body())).json()["id"]
    await disp.post(f"/tickets/{tid}/actions/dispatch", json={"technician": "tech1"})
    await tech.post(f"/tickets/{tid}/actions/arrive", json={})
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    answer = await tech.post(
        f"/tickets/{tid}/actions/carry_in",
        json={"customer_signature": "Li Lei", "promised_by": past},
    )
    assert answer.status_code == 422 and "promised_by" in answer.json()["detail"]
    assert (await tech.get(f"/tickets/{tid}")).json()["status"] == "on_site"
