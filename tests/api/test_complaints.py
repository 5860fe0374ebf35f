"""Complaints over HTTP against a real Temporal dev server (R25, R26, A2, R16, R11).

Staff record a complaint about a ticket; the director triages it; a serious one goes to the VP
for review and is answered in writing; a general one is answered by the service department,
by phone or in writing; every complaining customer is visited, and a complaint closes only
once visited and replied to.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.engine import Engine
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from tests.api.conftest import Api
from tests.read_model import ticket_row
from workflows.complaint import ComplaintWorkflow

COMPLAINT_NUMBER = re.compile(r"^C\d{4}-\d{6}$")


def dispatched_ticket(engine: Engine, model: str = "TV-55", serial_no: str = "SN-1") -> str:
    """A ticket dispatched to tech1, as its read-model row: a complaint reads only that row,
    so these tests do not depend on the ticket workflow."""
    return ticket_row(engine, product_model=model, product_serial_no=serial_no).id


async def complain(
    client: httpx.AsyncClient, tid: str, via: str = "phone", **headers: str
) -> httpx.Response:
    body = {"ticket_id": tid, "text": "the technician was rude", "received_via": via}
    return await client.post("/complaints", json=body, headers=headers)


def visit() -> dict[str, str]:
    return {
        "visited_by": "dir1",
        "visited_at": datetime.now(UTC).isoformat(),
        "outcome": "apologised in person",
    }


async def test_general_complaint_is_replied_by_phone_visited_and_closed(
    api: Api, engine: Engine, dev_env: WorkflowEnvironment
) -> None:
    # R26: recorded, escalated to the director, visited; R25: the service department replies.
    clerk, tech, director = await api.users("clerk1", "tech1", "dir1")
    manager = await api.as_user("mgr1")
    tid = dispatched_ticket(engine)

    assert (await complain(tech, tid)).status_code == 403
    recorded = await complain(clerk, tid)
    assert recorded.status_code == 201, recorded.text
    complaint = recorded.json()
    assert COMPLAINT_NUMBER.match(complaint["id"])
    assert complaint["status"] == "open" and complaint["allowed_actions"] == ["triage"]
    assert complaint["technician"] == "tech1" and complaint["recorded_by"] == "clerk1"
    assert complaint["repeated"] is False
    assert [(e["kind"], e["owner_role"]) for e in complaint["escalations"]] == [
        ("complaint", "director")
    ]
    cid = complaint["id"]
    actions = f"/complaints/{cid}/actions"

    refused = await clerk.post(f"{actions}/triage", json={"severity": "general"})
    assert refused.status_code == 403 and "director" in refused.json()["detail"]
    too_early = await director.post(f"{actions}/close", json={})
    assert too_early.status_code == 409
    assert too_early.json()["allowed_actions"] == ["triage"]
    bad = await director.post(f"{actions}/triage", json={"severity": "mild"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["body", "severity"]

    triaged = await director.post(f"{actions}/triage", json={"severity": "general", "note": "-"})
    assert triaged.status_code == 200, triaged.text
    assert triaged.json()["status"] == "triaged"
    assert triaged.json()["allowed_actions"] == ["reply", "visit"]
    assert triaged.json()["triage"]["by"] == "dir1"

    fax = await clerk.post(f"{actions}/reply", json={"method": "fax", "text": "sorry"})
    assert fax.status_code == 422 and fax.json()["errors"][0]["loc"] == ["body", "method"]
    replied = await clerk.post(f"{actions}/reply", json={"method": "phone", "text": "sorry"})
    assert replied.status_code == 200, replied.text
    assert replied.json()["status"] == "replied" and replied.json()["reply"]["method"] == "phone"

    # R26: a complaint cannot be closed without its visit.
    not_visited = await director.post(f"{actions}/close", json={})
    assert not_visited.status_code == 409, not_visited.text
    assert not_visited.json()["allowed_actions"] == ["visit"]
    assert "visit" in not_visited.json()["detail"]
    assert (await tech.post(f"{actions}/visit", json=visit())).status_code == 403
    visited = await manager.post(f"{actions}/visit", json=visit())
    assert visited.status_code == 200, visited.text
    assert visited.json()["status"] == "visited"
    assert visited.json()["visit"]["visited_by"] == "dir1"
    assert visited.json()["visit"]["by"] == "mgr1"

    closed = await director.post(f"{actions}/close", json={"note": "customer satisfied"})
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed" and closed.json()["allowed_actions"] == []
    assert closed.json()["escalations"][0]["acknowledged_at"] is not None
    again = await director.post(f"{actions}/close", json={})
    assert again.status_code == 409 and again.json()["allowed_actions"] == []

    read = (await clerk.get(f"/complaints/{cid}")).json()
    assert read["status"] == "closed" and read["closed_by"] == "dir1"
    handle = dev_env.client.get_workflow_handle_for(ComplaintWorkflow.run, f"complaint-{tid}-1")
    final = await handle.result()
    assert final.complaint_id == cid
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED


async def test_serious_complaint_needs_the_vps_review_before_a_written_reply(
    api: Api, engine: Engine
) -> None:
    # R25: a serious complaint goes to the VP at once; the customer is told in writing.
    clerk, director = await api.users("clerk1", "dir1")
    vp = await api.as_user("vp1")
    tid = dispatched_ticket(engine)
    cid = (await complain(clerk, tid, via="letter")).json()["id"]
    actions = f"/complaints/{cid}/actions"

    assert (await vp.post(f"{actions}/triage", json={"severity": "serious"})).status_code == 403
    triaged = await director.post(f"{actions}/triage", json={"severity": "serious"})
    assert triaged.status_code == 200, triaged.text
    assert [(e["kind"], e["owner_role"]) for e in triaged.json()["escalations"]] == [
        ("complaint", "director"),
        ("serious_complaint", "vp"),
    ]
    assert triaged.json()["allowed_actions"] == ["vp_review", "visit"]
    # R16: the VP acknowledges theirs through the escalations list; a clerk may not.
    serious_id = f"{cid}-serious"
    acknowledge = f"/escalations/{serious_id}/acknowledge"
    assert (await clerk.post(acknowledge, json={})).status_code == 403
    acknowledged = await vp.post(acknowledge, json={"note": "reviewing today"})
    assert acknowledged.status_code == 200, acknowledged.text
    complaint = (await clerk.get(f"/complaints/{cid}")).json()
    assert [e["acknowledged_by"] for e in complaint["escalations"]] == [None, "vp1"]

    letter = {"method": "letter", "text": "we will replace the unit free of charge"}
    before_review = await director.post(f"{actions}/reply", json=letter)
    assert before_review.status_code == 409
    assert before_review.json()["allowed_actions"] == ["vp_review", "visit"]
    not_vp = await director.post(f"{actions}/vp_review", json={"decision": "replace"})
    assert not_vp.status_code == 403 and "vp" in not_vp.json()["detail"]
    reviewed = await vp.post(f"{actions}/vp_review", json={"decision": "replace the unit"})
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["status"] == "reviewed"
    assert reviewed.json()["vp_review"]["by"] == "vp1"

    clerk_reply = await clerk.post(f"{actions}/reply", json=letter)
    assert clerk_reply.status_code == 403 and "vp" in clerk_reply.json()["detail"]
    by_phone = await vp.post(f"{actions}/reply", json=letter | {"method": "phone"})
    assert by_phone.status_code == 422, by_phone.text
    assert by_phone.json()["errors"][0]["loc"] == ["body", "method"]
    replied = await vp.post(f"{actions}/reply", json=letter)
    assert replied.status_code == 200, replied.text
    assert replied.json()["status"] == "replied"
    assert replied.json()["allowed_actions"] == ["visit"]

    serious = await clerk.get("/complaints", params={"severity": "serious", "visited": "false"})
    assert serious.headers["X-Total-Count"] == "1" and serious.json()[0]["id"] == cid


@pytest.mark.both_databases
async def test_repeat_complaint_is_flagged_and_complaints_are_listed(
    api: Api, engine: Engine
) -> None:
    # A2 (R26): the same customer about the same product again within the window.
    clerk, director = await api.users("clerk1", "dir1")
    tid = dispatched_ticket(engine)
    first = (await complain(clerk, tid)).json()
    second_answer = await complain(director, tid, via="walk_in")
    assert second_answer.status_code == 201, second_answer.text
    second = second_answer.json()
    assert second["repeated"] is True and second["previous_complaint_id"] == first["id"]
    other_product = dispatched_ticket(engine, "FRIDGE-2", "SN-99")
    third = (await complain(clerk, other_product)).json()
    assert third["repeated"] is False

    listed = await clerk.get("/complaints", params={"ticket_id": tid})
    assert listed.headers["X-Total-Count"] == "2"
    assert [c["id"] for c in listed.json()] == [second["id"], first["id"]]
    repeated = await clerk.get("/complaints", params={"repeated": "true"})
    assert [c["id"] for c in repeated.json()] == [second["id"]]
    page = await clerk.get("/complaints", params={"status": "open", "limit": 1, "offset": 1})
    assert page.headers["X-Total-Count"] == "3" and len(page.json()) == 1
    by_technician = await director.get("/complaints", params={"technician": "tech2"})
    assert by_technician.headers["X-Total-Count"] == "0"
    # R24: complaints by technician are part of the appraisal, not for the front desk.
    refused = await clerk.get("/complaints", params={"technician": "tech1"})
    assert refused.status_code == 403 and "director" in refused.json()["detail"]

    assert (await clerk.get("/complaints/C1999-000001")).status_code == 404
    unknown = await director.post(f"/complaints/{first['id']}/actions/escalate", json={})
    assert unknown.status_code == 404 and unknown.json()["allowed_actions"] == ["triage"]
    no_ticket = await complain(clerk, "no-such-ticket")
    assert no_ticket.status_code == 422 and "ticket_id" in no_ticket.text
    # Survey complaints come from the survey card itself, never typed in by staff.
    assert (await complain(clerk, tid, via="survey")).status_code == 422


@pytest.mark.both_databases
async def test_same_idempotency_key_records_one_complaint(api: Api, engine: Engine) -> None:
    # R26: a complaint recorded twice (a retried request) is one complaint.
    clerk = await api.as_user("clerk1")
    tid = dispatched_ticket(engine)
    once = await complain(clerk, tid, **{"Idempotency-Key": "letter-2026-0042"})
    twice = await complain(clerk, tid, **{"Idempotency-Key": "letter-2026-0042"})
    assert once.status_code == twice.status_code == 201, twice.text
    assert once.json()["id"] == twice.json()["id"]
    reused = await clerk.post(
        "/complaints",
        json={"ticket_id": tid, "text": "another matter", "received_via": "phone"},
        headers={"Idempotency-Key": "letter-2026-0042"},
    )
    assert reused.status_code == 422
    listed = await clerk.get("/complaints", params={"ticket_id": tid})
    assert listed.headers["X-Total-Count"] == "1"


async def test_a_complaints_escalation_is_on_its_ticket_until_handled(
    api: Api, engine: Engine
) -> None:
    # R16: whoever looks at the ticket sees the complaint's escalation, and the list of
    # escalated tickets finds it, until the complaint is handled and closed.
    clerk, director = await api.users("clerk1", "dir1")
    tid = dispatched_ticket(engine)
    assert (await clerk.get("/tickets", params={"escalated": "true"})).json() == []
    complaint = (await complain(clerk, tid)).json()
    ticket = (await clerk.get(f"/tickets/{tid}")).json()
    assert [(e["kind"], e["acknowledged_at"]) for e in ticket["escalations"]] == [
        ("complaint", None)
    ]
    assert ticket["open_escalations"] == 1
    escalated = (await clerk.get("/tickets", params={"escalated": "true"})).json()
    assert [t["id"] for t in escalated] == [tid]

    actions = f"/complaints/{complaint['id']}/actions"
    for action, body in [
        ("triage", {"severity": "general"}),
        ("reply", {"method": "phone", "text": "sorry"}),
        ("visit", visit()),
        ("close", {}),
    ]:
        assert (await director.post(f"{actions}/{action}", json=body)).status_code == 200
    closed = (await clerk.get(f"/tickets/{tid}")).json()
    assert closed["open_escalations"] == 0 and closed["escalations"][0]["acknowledged_at"]
    assert (await clerk.get("/tickets", params={"escalated": "true"})).json() == []
    not_escalated = (await clerk.get("/tickets", params={"escalated": "false"})).json()
    assert [t["id"] for t in not_escalated] == [tid]
