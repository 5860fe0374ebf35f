"""Tickets over HTTP against a real Temporal dev server (R3–R6, R11, shared/spec/api.md)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from models.lifecycle import Status
from tests.api.conftest import Api, call_in_body
from workflows.ticket import TicketWorkflow

RESOLVE_FREE = {
    "work_summary": "reseated the signal cable",
    "labor_minutes": 0,
    "parts": [],
    "customer_signature": "Li Lei",
}


async def test_call_in_to_closed_over_http(api: Api, dev_env: WorkflowEnvironment) -> None:
    # R3 → R4 → R5: call-in, dispatch, arrival, on-site resolution with nothing to pay.
    clerk, disp, tech = await api.users("clerk1", "disp1", "tech1")
    created = await clerk.post("/tickets", json=call_in_body())
    assert created.status_code == 201, created.text
    ticket = created.json()
    assert ticket["status"] == "registered"
    assert ticket["allowed_actions"] == ["dispatch", "cancel", "hold", "promise"]
    assert ticket["number"].startswith("T")
    tid = ticket["id"]

    step = await disp.post(f"/tickets/{tid}/actions/dispatch", json={"technician": "tech1"})
    assert step.status_code == 200, step.text
    assert step.json()["technician"] == "tech1" and step.json()["status"] == "dispatched"
    step = await tech.post(f"/tickets/{tid}/actions/arrive", json={})
    assert step.json()["status"] == "on_site"
    step = await tech.post(f"/tickets/{tid}/actions/resolve", json=RESOLVE_FREE)
    assert step.status_code == 200, step.text
    assert step.json()["status"] == "closed"
    assert step.json()["allowed_actions"] == []

    # The read model, the timeline and the workflow agree.
    read = (await clerk.get(f"/tickets/{tid}")).json()
    assert read["status"] == "closed" and read["amount_due"] == "0.00"
    timeline = (await clerk.get(f"/tickets/{tid}/timeline")).json()
    assert [(e["action"], e["actor"]) for e in timeline] == [
        ("call_in", "clerk1"),
        ("dispatch", "disp1"),
        ("arrive", "tech1"),
        ("resolve", "tech1"),
        ("close", "system"),
    ]
    assert timeline[3]["data"]["work_summary"] == "reseated the signal cable"
    assert all(datetime.fromisoformat(e["at"]).utcoffset() is not None for e in timeline)
    handle = dev_env.client.get_workflow_handle_for(TicketWorkflow.run, f"ticket-{tid}")
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
    state = await handle.query(TicketWorkflow.state_query)
    assert state.status is Status.CLOSED and state.number == ticket["number"]


async def test_step_not_allowed_answers_409_and_changes_nothing(api: Api) -> None:
    clerk, tech = await api.as_user("clerk1"), await api.as_user("tech1")
    tid = (await clerk.post("/tickets", json=call_in_body())).json()["id"]
    refused = await tech.post(f"/tickets/{tid}/actions/arrive", json={})
    assert refused.status_code == 409
    assert refused.json()["allowed_actions"] == ["dispatch", "cancel", "hold", "promise"]
    assert "registered" in refused.json()["detail"]
    after = (await clerk.get(f"/tickets/{tid}")).json()
    assert after["status"] == "registered"
    assert len((await clerk.get(f"/tickets/{tid}/timeline")).json()) == 1


async def test_steps_on_a_closed_ticket_answer_409(api: Api) -> None:
    clerk, disp = await api.as_user("clerk1"), await api.as_user("disp1")
    tid = (await clerk.post("/tickets", json=call_in_body())).json()["id"]
    cancelled = await disp.post(f"/tickets/{tid}/actions/cancel", json={"reason": "fixed itself"})
    assert cancelled.json()["status"] == "cancelled"
    again = await disp.post(f"/tickets/{tid}/actions/dispatch", json={"technician": "tech1"})
    assert again.status_code == 409 and again.json()["allowed_actions"] == []


@pytest.mark.both_databases
async def test_same_idempotency_key_from_six_clients_makes_one_ticket(api: Api) -> None:
    # R3: registration is idempotent, even under concurrency.
    clerk = await api.as_user("clerk1")
    headers = {"Idempotency-Key": f"call-{uuid.uuid4()}"}
    answers = await asyncio.gather(
        *(clerk.post("/tickets", json=call_in_body(), headers=headers) for _ in range(6))
    )
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    listed = await clerk.get("/tickets")
    assert listed.headers["X-Total-Count"] == "1"


async def test_reused_idempotency_key_with_another_call_is_refused(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    headers = {"Idempotency-Key": f"call-{uuid.uuid4()}"}
    first = await clerk.post("/tickets", json=call_in_body(), headers=headers)
    other = await clerk.post("/tickets", json=call_in_body(problem="smoke"), headers=headers)
    assert first.status_code == 201 and other.status_code == 422
    assert "Idempotency-Key" in other.json()["detail"]


async def test_bad_call_in_is_422_naming_the_problem(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    unknown_zone = await clerk.post("/tickets", json=call_in_body(zone="moon"))
    assert unknown_zone.status_code == 422 and "moon" in unknown_zone.json()["detail"]
    no_phone = call_in_body(customer={"name": "A", "address": "B"})
    missing = await clerk.post("/tickets", json=no_phone)
    assert missing.status_code == 422
    assert any("phone" in e["loc"] for e in missing.json()["errors"])
    assert (await clerk.get("/tickets")).headers["X-Total-Count"] == "0"


async def test_dispatch_to_unknown_technician_is_422(api: Api) -> None:
    clerk, disp = await api.as_user("clerk1"), await api.as_user("disp1")
    tid = (await clerk.post("/tickets", json=call_in_body())).json()["id"]
    answer = await disp.post(f"/tickets/{tid}/actions/dispatch", json={"technician": "clerk1"})
    assert answer.status_code == 422 and "clerk1" in answer.json()["detail"]


async def test_only_the_assigned_technician_takes_their_steps(api: Api) -> None:
    # R4, R5: another technician gets 403; a director may act for the technician (recorded).
    clerk, disp = await api.as_user("clerk1"), await api.as_user("disp1")
    tid = (await clerk.post("/tickets", json=call_in_body())).json()["id"]
    await disp.post(f"/tickets/{tid}/actions/dispatch", json={"technician": "tech1"})
    other = await (await api.as_user("tech2")).post(f"/tickets/{tid}/actions/arrive", json={})
    assert other.status_code == 403 and "tech1" in other.json()["detail"]
    director = await api.as_user("dir1")
    arrived = await director.post(f"/tickets/{tid}/actions/arrive", json={})
    assert arrived.status_code == 200 and arrived.json()["status"] == "on_site"
    timeline = (await clerk.get(f"/tickets/{tid}/timeline")).json()
    assert timeline[-1]["actor"] == "dir1" and timeline[-1]["data"]["acting_for"] == "tech1"


async def test_redispatch_is_recorded(api: Api) -> None:
    # R4: reassignment is possible and recorded.
    clerk, disp = await api.as_user("clerk1"), await api.as_user("disp1")
    tid = (await clerk.post("/tickets", json=call_in_body())).json()["id"]
    await disp.post(f"/tickets/{tid}/actions/dispatch", json={"technician": "tech1"})
    again = await disp.post(f"/tickets/{tid}/actions/dispatch", json={"technician": "tech2"})
    assert again.json()["technician"] == "tech2"
    last = (await clerk.get(f"/tickets/{tid}/timeline")).json()[-1]
    assert last["data"] == {"technician": "tech2", "previous_technician": "tech1"}


async def test_paid_resolution_waits_for_payment(api: Api) -> None:
    # R6, R21: labour at the policy's rate plus parts; the ticket closes once fully paid.
    clerk, disp, tech = await api.users("clerk1", "disp1", "tech1")
    tid = (await clerk.post("/tickets", json=call_in_body())).json()["id"]
    await disp.post(f"/tickets/{tid}/actions/dispatch", json={"technician": "tech1"})
    await tech.post(f"/tickets/{tid}/actions/arrive", json={})
    body = {
        **RESOLVE_FREE,
        "labor_minutes": 90,
        "parts": [{"part_no": "FUSE-5A", "qty": 2, "unit_price": "12.50"}],
    }
    resolved = (await tech.post(f"/tickets/{tid}/actions/resolve", json=body)).json()
    assert resolved["status"] == "resolved"
    assert resolved["amount_due"] == "205.00"  # 1.5 h × 120.00 + 2 × 12.50
    accountant = await api.as_user("acct1")
    too_much = await accountant.post(
        f"/tickets/{tid}/actions/record_payment", json={"amount": "500.00", "method": "cash"}
    )
    assert too_much.status_code == 422
    part = await accountant.post(
        f"/tickets/{tid}/actions/record_payment", json={"amount": "100.00", "method": "cash"}
    )
    assert part.json()["status"] == "resolved" and part.json()["amount_paid"] == "100.00"
    rest = await accountant.post(
        f"/tickets/{tid}/actions/record_payment", json={"amount": "105.00", "method": "transfer"}
    )
    assert rest.json()["status"] == "closed"


@pytest.mark.both_databases
async def test_list_filters_by_status_and_technician(api: Api) -> None:
    clerk, disp = await api.as_user("clerk1"), await api.as_user("disp1")
    ids = [(await clerk.post("/tickets", json=call_in_body())).json()["id"] for _ in range(3)]
    await disp.post(f"/tickets/{ids[0]}/actions/dispatch", json={"technician": "tech2"})
    everything = (await clerk.get("/tickets")).json()
    assert [t["id"] for t in everything] == ids[::-1]  # newest first
    dispatched = (await clerk.get("/tickets", params={"status": "dispatched"})).json()
    assert [t["id"] for t in dispatched] == [ids[0]]
    mine = (await clerk.get("/tickets", params={"technician": "tech2"})).json()
    assert [t["id"] for t in mine] == [ids[0]]
    assert (await clerk.get("/tickets", params={"escalated": "true"})).json() == []
    page = await clerk.get("/tickets", params={"limit": 2, "offset": 2})
    assert [t["id"] for t in page.json()] == [ids[0]] and page.headers["X-Total-Count"] == "3"
    bad = await clerk.get("/tickets", params={"status": "lost"})
    assert bad.status_code == 422


async def test_temporal_ui_filters_tickets_by_status_technician_zone_and_type(
    api: Api, dev_env: WorkflowEnvironment
) -> None:
    # The Web UI's filters are Temporal visibility queries on the tickets' search attributes.
    clerk, disp = await api.users("clerk1", "disp1")
    first = (await clerk.post("/tickets", json=call_in_body(zone="suburban"))).json()["id"]
    await clerk.post("/tickets", json=call_in_body())
    await disp.post(f"/tickets/{first}/actions/dispatch", json={"technician": "tech2"})
    query = (
        f"TaskQueue = '{api.settings.task_queue}' AND TicketStatus = 'dispatched' "
        "AND Technician = 'tech2' AND Zone = 'suburban' AND ServiceType = 'paid'"
    )
    found: list[str] = []
    for _ in range(100):  # visibility is eventually consistent
        found = [w.id async for w in dev_env.client.list_workflows(query)]
        if found:
            break
        await asyncio.sleep(0.1)
    assert found == [f"ticket-{first}"]


async def test_idempotency_key_of_an_ended_ticket_still_names_that_ticket(api: Api) -> None:
    # R3: after the ticket is cancelled, the same call with the same key is still that
    # ticket; the key with a different call is refused.
    clerk, disp = await api.users("clerk1", "disp1")
    headers = {"Idempotency-Key": f"call-{uuid.uuid4()}"}
    tid = (await clerk.post("/tickets", json=call_in_body(), headers=headers)).json()["id"]
    await disp.post(f"/tickets/{tid}/actions/cancel", json={"reason": "duplicate call"})
    again = await clerk.post("/tickets", json=call_in_body(), headers=headers)
    assert again.status_code == 201
    assert again.json()["id"] == tid and again.json()["status"] == "cancelled"
    other = await clerk.post("/tickets", json=call_in_body(problem="smoke"), headers=headers)
    assert other.status_code == 422 and "Idempotency-Key" in other.json()["detail"]
    assert (await clerk.get("/tickets")).headers["X-Total-Count"] == "1"


async def test_an_action_key_reused_for_another_action_is_not_mistaken_for_it(api: Api) -> None:
    clerk, disp, tech = await api.users("clerk1", "disp1", "tech1")
    tid = (await clerk.post("/tickets", json=call_in_body())).json()["id"]
    key = {"Idempotency-Key": f"step-{uuid.uuid4()}"}
    body = {"technician": "tech1"}
    first = await disp.post(f"/tickets/{tid}/actions/dispatch", json=body, headers=key)
    repeat = await disp.post(f"/tickets/{tid}/actions/dispatch", json=body, headers=key)
    assert first.json()["updated_at"] == repeat.json()["updated_at"]  # one step, not two
    arrived = await tech.post(f"/tickets/{tid}/actions/arrive", json={}, headers=key)
    assert arrived.json()["status"] == "on_site"
    steps = [e["action"] for e in (await clerk.get(f"/tickets/{tid}/timeline")).json()]
    assert steps == ["call_in", "dispatch", "arrive"]


async def test_steps_on_an_unknown_ticket_are_404(api: Api) -> None:
    disp = await api.as_user("disp1")
    answer = await disp.post(
        "/tickets/no-such-ticket/actions/dispatch", json={"technician": "tech1"}
    )
    assert answer.status_code == 404 and "no-such-ticket" in answer.json()["detail"]
    unknown = await disp.post("/tickets/no-such-ticket/actions/fly", json={})
    assert unknown.status_code == 404
