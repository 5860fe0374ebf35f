"""Escalations over HTTP against a real Temporal dev server (R12, R14, R16): a zone whose
deadline is a few seconds on a 24-hour calendar shows `arrival_overdue` within seconds of it
passing, its owners get one email through a real SMTP server, and an owner acknowledges it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.tables import TicketRecord
from tests.api.conftest import Api, call_in_body
from tests.mail import SmtpServer

SPRINT_SECONDS = 4
POLICY = f"""
[calendars.always]
timezone = "UTC"
workdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
hours = [["00:00", "24:00"]]

[zones.urban]
calendar = "always"
arrival_hours = 6

[zones.sprint]                  # R13: a zone table is policy data; this one is seconds
calendar = "always"
arrival_hours = {SPRINT_SECONDS / 3600}

[deadlines]
warning_fraction = 0.5
"""


@pytest.fixture
def api_overrides(tmp_path: Path, smtp: SmtpServer) -> dict[str, object]:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    return {"policy_file": policy, "smtp_host": "127.0.0.1", "smtp_port": smtp.port}


async def poll(client: httpx.AsyncClient, url: str, until: Any, within: float = 15) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        body = (await client.get(url)).json()
        if until(body) or asyncio.get_running_loop().time() > deadline:
            return body
        await asyncio.sleep(0.1)


def kinds(ticket: dict[str, Any]) -> list[str]:
    return [e["kind"] for e in ticket["escalations"]]


async def test_arrival_overdue_shows_within_seconds_and_is_mailed_once(
    api: Api, smtp: SmtpServer
) -> None:
    admin, clerk, dispatcher = await api.users("admin", "clerk1", "disp1")
    for username in ("disp1", "dir1"):
        answer = await admin.patch(f"/users/{username}", json={"email": f"{username}@example.com"})
        assert answer.status_code == 200, answer.text

    created = await clerk.post("/tickets", json=call_in_body(zone="sprint"))
    assert created.status_code == 201, created.text
    ticket = created.json()
    called_in = datetime.fromisoformat(ticket["created_at"])
    due = datetime.fromisoformat(ticket["arrival_due_at"])
    assert due - called_in == timedelta(seconds=SPRINT_SECONDS)  # R12, fixed at call-in

    url = f"/tickets/{ticket['id']}"
    ticket = await poll(clerk, url, lambda t: "arrival_overdue" in kinds(t))
    seen = datetime.now(UTC)
    assert kinds(ticket) == ["arrival_warning", "arrival_overdue"]
    overdue = ticket["escalations"][1]
    assert datetime.fromisoformat(overdue["raised_at"]) == due
    assert seen - due < timedelta(seconds=5)
    assert overdue["owner_role"] == "dispatcher" and overdue["acknowledged_at"] is None
    assert ticket["open_escalations"] == 2

    # R16: the open list, filtered and newest first.
    listed = await dispatcher.get(
        "/escalations", params={"open": "true", "ticket_id": ticket["id"]}
    )
    assert [e["kind"] for e in listed.json()] == ["arrival_overdue", "arrival_warning"]
    assert listed.headers["X-Total-Count"] == "2"
    escalated = await clerk.get("/tickets", params={"escalated": "true"})
    assert [t["id"] for t in escalated.json()] == [ticket["id"]]

    # One email per owner: the warning to the dispatcher; the breach to dispatcher and director.
    async def mailed() -> list[str]:
        for _ in range(100):
            if len(smtp.recipients()) >= 3:
                break
            await asyncio.sleep(0.1)
        return smtp.recipients()

    assert await mailed() == ["dir1@example.com", "disp1@example.com", "disp1@example.com"]
    subjects = sorted(str(m["Subject"]) for m in smtp.messages())
    assert subjects[0].startswith("[arrival_overdue]") and ticket["number"] in subjects[0]

    # Acknowledged by an owner, once; a technician may not.
    tech = await api.as_user("tech1")
    refused = await tech.post(f"/escalations/{overdue['id']}/acknowledge")
    assert refused.status_code == 403, refused.text
    acknowledged = await dispatcher.post(
        f"/escalations/{overdue['id']}/acknowledge", json={"note": "technician rerouted"}
    )
    assert acknowledged.status_code == 200, acknowledged.text
    assert acknowledged.json()["acknowledged_by"] == "disp1"
    again = await (await api.as_user("dir1")).post(f"/escalations/{overdue['id']}/acknowledge")
    assert again.json()["acknowledged_by"] == "disp1"
    still_open = await dispatcher.get("/escalations", params={"open": "true"})
    assert [e["kind"] for e in still_open.json()] == ["arrival_warning"]
    missing = await dispatcher.post("/escalations/T1999-000001-E1/acknowledge")
    assert missing.status_code == 404
    await asyncio.sleep(0.5)
    assert len(smtp.recipients()) == 3  # nothing sent twice


async def test_hold_and_resume_over_http(api: Api) -> None:
    clerk, dispatcher = await api.users("clerk1", "disp1")
    ticket = (await clerk.post("/tickets", json=call_in_body())).json()
    url = f"/tickets/{ticket['id']}"
    no_reason = await clerk.post(f"{url}/actions/hold", json={})
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    held = await clerk.post(f"{url}/actions/hold", json={"reason": "customer abroad"})
    assert held.status_code == 200, held.text
    assert held.json()["hold"]["reason"] == "customer abroad"
    assert held.json()["allowed_actions"] == ["dispatch", "cancel", "resume", "promise"]
    await dispatcher.post(f"{url}/actions/dispatch", json={"technician": "tech1"})
    tech = await api.as_user("tech1")
    arrive = await tech.post(f"{url}/actions/arrive", json={})
    assert arrive.status_code == 409 and "resume" in arrive.json()["allowed_actions"]
    resumed = await clerk.post(f"{url}/actions/resume", json={})
    assert resumed.status_code == 200 and resumed.json()["hold"] is None
    timeline = (await clerk.get(f"{url}/timeline")).json()
    assert [e["action"] for e in timeline][-3:] == ["hold", "dispatch", "resume"]
    assert "paused_working_minutes" in timeline[-1]["data"]


async def test_dispatch_order_puts_carried_over_tickets_first(api: Api, engine: Engine) -> None:
    # R14: the dispatch list is first come, first served, carried-over tickets at the top.
    clerk = await api.as_user("clerk1")
    ids = [(await clerk.post("/tickets", json=call_in_body())).json()["id"] for _ in range(3)]
    newest = await clerk.get("/tickets")
    assert [t["id"] for t in newest.json()] == ids[::-1]
    dispatch = await clerk.get("/tickets", params={"order": "dispatch"})
    assert [t["id"] for t in dispatch.json()] == ids
    # (The workflow raises the priority at the end of the working day: tests/workflows/
    # test_deadlines.py; here the read model's order is what is tested.)
    with Session(engine) as db:
        record = db.get(TicketRecord, ids[2])
        assert record is not None
        record.priority = 1
        db.add(record)
        db.commit()
    dispatch = await clerk.get("/tickets", params={"order": "dispatch"})
    assert [t["id"] for t in dispatch.json()] == [ids[2], ids[0], ids[1]]
    assert [t["priority"] for t in dispatch.json()] == ["high", "normal", "normal"]
    bad = await clerk.get("/tickets", params={"order": "random"})
    assert bad.status_code == 422
