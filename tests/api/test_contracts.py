"""Contracts that run themselves, over HTTP (R31, R32): a contract's workflow starts with it
and keeps its calendar — monthly inspections with the policy's checklist, quarterly follow-ups,
the sales warning, the expiry notice and renewal visit — which a renewal, a new schedule and an
early termination move; what fell due in the last days is done at once; contracts from before
get their workflow once, when a worker starts.

The whole two-year life in time is tests/workflows/test_contract.py; here the calendar as the
API shows it, against the real dev server.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from jobs.contracts import start_missing
from models.contract import add_months
from models.policy import load_policy
from models.tables import ContractRecord, CustomerRecord, ProductRecord
from tests.api.conftest import Api
from tests.workflows.builders import eventually

TODAY = datetime.now(UTC).date()
DAY = timedelta(days=1)


async def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


async def contract(api: Api, serial_no: str, starts_on: date, **terms: Any) -> dict[str, Any]:
    clerk = await api.as_user("clerk1")
    site = {"name": "Plant No. 3", "phone": "02100000000", "address": "9 Harbour Road"}
    customer = await ok(await clerk.post("/customers", json=site), 201)
    product = {"serial_no": serial_no, "model": "FA-900", "customer_id": customer["id"]}
    product_id = (await ok(await clerk.post("/products", json=product), 201))["id"]
    body = {
        "customer_id": customer["id"],
        "product_id": product_id,
        "starts_on": starts_on.isoformat(),
        "ends_on": (add_months(starts_on, 12) - DAY).isoformat(),
        **terms,
    }
    created: dict[str, Any] = await ok(await clerk.post("/contracts", json=body), 201)
    return created


async def calendar(api: Api, contract_id: int, past: bool = False) -> list[dict[str, Any]]:
    clerk = await api.as_user("clerk1")
    found: list[dict[str, Any]] = await ok(
        await clerk.get(f"/contracts/{contract_id}/calendar", params={"past": str(past).lower()})
    )
    return found


def kinds(events: list[dict[str, Any]]) -> Counter[str]:
    return Counter(event["kind"] for event in events)


async def test_a_contracts_calendar_moves_with_a_renewal_a_new_schedule_and_a_termination(
    api: Api,
) -> None:
    start = TODAY + 10 * DAY
    made = await contract(
        api, "SN-CAL-1", start, free_maintenance_until=add_months(start, 6).isoformat()
    )
    # The policy's schedule and the A3 checklist, unless the contract says otherwise.
    assert (made["every"], made["zone"], made["status"]) == ("month", "urban", "upcoming")
    assert made["checklist"] == [
        "front-end devices",
        "cabling",
        "central equipment",
        "system functions",
    ]
    ahead = await calendar(api, made["id"])
    assert kinds(ahead) == {
        "inspection": 12,
        "follow_up": 3,
        "sales_warning": 1,
        "expiry_notice": 1,
        "renewal_visit": 1,
        "visit_notice": 15,  # the customer hears of each visit days before (R35)
    }
    days = [date.fromisoformat(event["on"]) for event in ahead]
    assert days == sorted(days) and days[0] >= start
    assert {event["status"] for event in ahead} == {"upcoming"}

    clerk = await api.as_user("clerk1")
    path = f"/contracts/{made['id']}"
    two_years = (add_months(start, 24) - DAY).isoformat()
    renewed = await ok(await clerk.patch(path, json={"ends_on": two_years}))
    assert renewed["ends_on"] == two_years
    assert kinds(await calendar(api, made["id"]))["inspection"] == 24
    quarterly = await ok(await clerk.patch(path, json={"every": "quarter"}))
    assert quarterly["every"] == "quarter"
    assert kinds(await calendar(api, made["id"]))["inspection"] == 8
    shorter = await clerk.patch(path, json={"ends_on": made["ends_on"]})
    assert shorter.status_code == 422 and "terminate" in shorter.text

    technician = await api.as_user("tech1")
    stop = {"terminated_on": add_months(start, 4).isoformat(), "reason": "plant closed"}
    assert (await technician.post(f"{path}/terminate", json=stop)).status_code == 403
    ended = await ok(await clerk.post(f"{path}/terminate", json=stop))
    assert ended["terminated_on"] == stop["terminated_on"]
    left = await calendar(api, made["id"])
    assert max(event["on"] for event in left) <= stop["terminated_on"]
    assert kinds(left)["inspection"] == 2  # the start and three months on
    again = await clerk.post(f"{path}/terminate", json=stop)
    assert again.status_code == 409 and "terminated" in again.json()["detail"]


async def test_a_contract_that_began_days_ago_opens_what_fell_due_at_once(api: Api) -> None:
    made = await contract(api, "SN-CAL-2", TODAY - 3 * DAY, arrival_hours=1.5)

    async def opened() -> list[dict[str, Any]]:
        found = await calendar(api, made["id"], past=True)
        return [event for event in found if event["at"] and event["kind"] == "inspection"]

    [first] = await eventually(opened)
    assert (first["kind"], first["status"]) == ("inspection", "done")
    clerk = await api.as_user("clerk1")
    job = await ok(await clerk.get(f"/tickets/{first['ticket_id']}"))
    assert (job["status"], job["service_type"]) == ("registered", "internal")
    assert "preventive inspection" in job["problem"] and "cabling" in job["problem"]
    assert job["customer"]["name"] == "Plant No. 3"

    # R32: on site, the checklist is recorded item by item before the job is resolved; a
    # fault opens a repair ticket for the customer's product.
    tid, technician = job["id"], await api.as_user("tech1")
    dispatcher = await api.as_user("disp1")
    await ok(
        await dispatcher.post(f"/tickets/{tid}/actions/dispatch", json={"technician": "tech1"})
    )
    arrived = await ok(await technician.post(f"/tickets/{tid}/actions/arrive", json={}))
    assert "record_inspection" in arrived["allowed_actions"]
    resolve = {"work_summary": "inspected", "labor_minutes": 60, "customer_signature": "Wang"}
    early = await technician.post(f"/tickets/{tid}/actions/resolve", json=resolve)
    assert early.status_code == 409 and "'record_inspection' first" in early.json()["detail"]
    results = [
        {"item": "front-end devices", "result": "ok"},
        {"item": "cabling", "result": "fault", "note": "cable 3 cut", "photo_ref": "IMG-17"},
        {"item": "central equipment", "result": "ok"},
    ]
    short = await technician.post(
        f"/tickets/{tid}/actions/record_inspection", json={"items": results}
    )
    assert short.status_code == 422 and "system functions" in short.text
    results.append({"item": "system functions", "result": "not_checked", "note": "no power"})
    recorded = await ok(
        await technician.post(f"/tickets/{tid}/actions/record_inspection", json={"items": results})
    )
    assert recorded["allowed_actions"][0] == "resolve"
    listed = await ok(await clerk.get(f"/contracts/{made['id']}/inspections"))
    assert [(i["ticket_id"], i["recorded_by"]) for i in listed] == [(tid, "tech1")]
    assert [r["result"] for r in listed[0]["results"]] == ["ok", "fault", "ok", "not_checked"]
    repair = await eventually(lambda: _found(clerk, f"/tickets/{listed[0]['repair_ticket']}"))
    assert f"Found by inspection {job['number']}: cabling: cable 3 cut" == repair["problem"]
    assert repair["status"] == "registered"
    # R13: the repair is due within the contract's own arrival hours, in working time.
    called_in = datetime.fromisoformat(repair["created_at"])
    working = load_policy(None).work_calendar(made["zone"], called_in)
    due = datetime.fromisoformat(repair["arrival_due_at"])
    assert working.between(called_in, due) == timedelta(hours=1.5)
    site = await ok(await clerk.get(f"/customers/{made['customer_id']}/inspections"))
    assert [i["ticket_id"] for i in site] == [tid]
    done = await ok(await technician.post(f"/tickets/{tid}/actions/resolve", json=resolve))
    assert done["status"] in ("resolved", "closed")


async def _found(client: httpx.AsyncClient, path: str) -> dict[str, Any] | None:
    answer = await client.get(path)
    return answer.json() if answer.status_code == 200 else None


async def test_contracts_from_before_get_their_workflow_once_when_a_worker_starts(
    api: Api, engine: Engine, dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    with Session(engine) as db:
        customer = CustomerRecord(name="Old Customer", phone="02100000001", address="1 Old Road")
        db.add(customer)
        db.flush()
        product = ProductRecord(serial_no="SN-OLD-9", model="FA-900", customer_id=customer.id)
        db.add(product)
        db.flush()
        assert customer.id is not None and product.id is not None
        old = ContractRecord(
            number="MC-OLD-1",
            customer_id=customer.id,
            product_id=product.id,
            starts_on=TODAY + 5 * DAY,
            ends_on=TODAY + 200 * DAY,
        )
        db.add(old)
        db.commit()
        old_id = old.id
    assert old_id is not None
    policy = load_policy(None)
    assert await start_missing(dev_env.client, engine, policy, task_queue) == 1
    assert await start_missing(dev_env.client, engine, policy, task_queue) == 0
    assert kinds(await calendar(api, old_id))["inspection"] == 7


async def test_a_contract_that_has_ended_is_renewed_by_a_new_one(api: Api) -> None:
    made = await contract(api, "SN-CAL-3", TODAY - 400 * DAY)
    assert date.fromisoformat(made["ends_on"]) < TODAY and made["status"] == "ended"
    clerk = await api.as_user("clerk1")
    path = f"/contracts/{made['id']}"

    async def ended() -> bool:
        later = (TODAY + 100 * DAY).isoformat()
        answer = await clerk.patch(path, json={"ends_on": later})
        return answer.status_code == 409 and "a new contract" in answer.json()["detail"]

    assert await eventually(ended)
    assert (await ok(await clerk.get(path)))["ends_on"] == made["ends_on"]
    assert (await clerk.post(f"{path}/terminate", json={"reason": "x"})).status_code in (409, 422)
    missed = await calendar(api, made["id"], past=True)
    assert {event["status"] for event in missed} == {"missed"}
