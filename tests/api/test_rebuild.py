"""The read model is a projection of the workflows: lost, it is rebuilt from them as it was
(R11: the timeline too)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from activities.rebuild import rebuild_read_model
from models.tables import (
    PaymentRecord,
    ProductReceiptRecord,
    RegisterRecord,
    RepairRoundRecord,
    TicketRecord,
    TimelineRecord,
)
from tests.api.conftest import Api, call_in_body

READ_MODEL = (
    TimelineRecord,
    PaymentRecord,
    ProductReceiptRecord,
    RegisterRecord,
    RepairRoundRecord,
    TicketRecord,
)


async def snapshot(api: Api, ticket_ids: list[str]) -> list[object]:
    clerk = await api.as_user("clerk1")
    views = []
    for tid in ticket_ids:
        for path in ("", "/timeline", "/repair-card", "/payments"):
            answer = await clerk.get(f"/tickets/{tid}{path}")
            views.append((path, answer.status_code, answer.json()))
    views.append(("register", (await clerk.get("/register")).json()))
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
    before = await snapshot(api, ids)

    with engine.begin() as connection:
        for table in READ_MODEL:
            connection.execute(delete(table))
    assert (await clerk.get(f"/tickets/{ids[0]}")).status_code == 404

    for _ in range(100):  # the workflows' visibility catches up within moments
        if await rebuild_read_model(dev_env.client, engine, task_queue) == len(ids):
            break
        await asyncio.sleep(0.1)
    assert await snapshot(api, ids) == before
