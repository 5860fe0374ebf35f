"""The read model is a projection of the workflows: lost, it is rebuilt from them as it was
(R11: the timeline too; the survey cards, complaints and escalations of R16, R22, R26)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from jobs.rebuild import rebuild_read_model
from models.tables import (
    ComplaintRecord,
    EscalationRecord,
    PaymentRecord,
    ProductReceiptRecord,
    RegisterRecord,
    RepairRoundRecord,
    SurveyRecord,
    TicketRecord,
    TicketTechnicianRecord,
    TimelineRecord,
)
from tests.api.conftest import Api, call_in_body

# The database matters here: run on SQLite and on PostgreSQL.
pytestmark = pytest.mark.both_databases

READ_MODEL = (
    TimelineRecord,
    PaymentRecord,
    ProductReceiptRecord,
    RegisterRecord,
    RepairRoundRecord,
    TicketTechnicianRecord,
    TicketRecord,
    SurveyRecord,
    ComplaintRecord,
    EscalationRecord,
)


async def snapshot(api: Api, ticket_ids: list[str]) -> list[object]:
    clerk = await api.as_user("clerk1")
    views = []
    for tid in ticket_ids:
        for path in ("", "/timeline", "/repair-card", "/payments"):
            answer = await clerk.get(f"/tickets/{tid}{path}")
            views.append((path, answer.status_code, answer.json()))
    views.append(("register", (await clerk.get("/register")).json()))
    technician = await api.as_user("tech1")  # R4: the tickets ever assigned to them
    views.append(("tech1's tickets", (await technician.get("/tickets")).json()))
    director = await api.as_user("dir1")
    for listing in ("/complaints", "/escalations"):
        views.append((listing, (await director.get(listing)).json()))
    return views


async def test_lost_read_model_is_rebuilt_from_the_workflows(
    api: Api, dev_env: WorkflowEnvironment, engine: Engine, task_queue: str
) -> None:
    clerk, disp, tech, director = await api.users("clerk1", "disp1", "tech1", "dir1")
    ids = [(await clerk.post("/tickets", json=call_in_body())).json()["id"] for _ in range(3)]
    for tid in ids[1:]:
        await disp.post(f"/tickets/{tid}/actions/dispatch", json={"technician": "tech1"})
        await tech.post(f"/tickets/{tid}/actions/arrive", json={})
    promised = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    await tech.post(
        f"/tickets/{ids[2]}/actions/carry_in",
        json={"customer_signature": "Li Lei", "promised_by": promised},
    )
    await tech.post(
        f"/tickets/{ids[2]}/actions/record_repair",
        json={"labor_minutes": 45, "parts": [], "notes": "resoldered"},
    )
    await director.post(f"/tickets/{ids[2]}/actions/inspect", json={"passed": False, "notes": "no"})
    free = {"work_summary": "cable", "labor_minutes": 0, "customer_signature": "Li Lei"}
    await tech.post(f"/tickets/{ids[1]}/actions/resolve", json=free)  # closes; card scheduled
    complaint = {"ticket_id": ids[1], "text": "left a mess", "received_via": "phone"}
    assert (await clerk.post("/complaints", json=complaint)).status_code == 201
    before = await snapshot(api, ids)
    assert before[4][2]["survey"]["status"] == "scheduled"  # ids[1]'s ticket view
    assert [e["kind"] for e in before[-1][1]] == ["complaint"]

    with engine.begin() as connection:
        for table in READ_MODEL:
            connection.execute(delete(table))
    assert (await clerk.get(f"/tickets/{ids[0]}")).status_code == 404

    for _ in range(100):  # the workflows' visibility catches up within moments
        rebuilt = await rebuild_read_model(dev_env.client, engine, task_queue)
        if rebuilt == {"Ticket": len(ids), "Survey": 1, "Complaint": 1}:
            break
        await asyncio.sleep(0.1)
    assert await snapshot(api, ids) == before
