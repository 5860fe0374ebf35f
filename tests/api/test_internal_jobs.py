"""Internal jobs over HTTP (R1): administrative work — inspections, parts handling, tool
maintenance, training — opened by a supervisor, never tied to a customer call, never billed."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.api.conftest import Api

JOB = {
    "category": "tool_maintenance",
    "description": "calibrate the signal meters",
    "zone": "urban",
}
RESOLVE = {
    "work_summary": "calibrated four meters",
    "labor_minutes": 150,
    "parts": [{"part_no": "PROBE-2", "qty": 3, "unit_price": "45.00"}],
    "customer_signature": "Workshop lead",
}


async def open_job(client: httpx.AsyncClient, **overrides: Any) -> httpx.Response:
    return await client.post("/tickets/internal", json={**JOB, **overrides})


async def test_supervisors_open_internal_jobs_that_are_free_when_resolved(api: Api) -> None:
    # R1: dispatchers, directors, managers and admins open internal jobs.
    opened = []
    for name in ("disp1", "dir1", "mgr1", "admin"):
        answer = await open_job(await api.as_user(name), category="training", zone="suburban")
        assert answer.status_code == 201, (name, answer.text)
        opened.append(answer.json())
    for job in opened:
        assert job["service_type"] == "internal" and job["status"] == "registered"
        assert job["problem"] == "calibrate the signal meters" and job["zone"] == "suburban"
        assert job["allowed_actions"] == ["dispatch", "cancel", "hold", "promise"]
    assert len({job["number"] for job in opened}) == 4
    clerk = await api.as_user("clerk1")
    listed = await clerk.get("/tickets", params={"service_type": "internal"})
    assert {t["id"] for t in listed.json()} == {job["id"] for job in opened}
    call_in = (await clerk.get(f"/tickets/{opened[2]['id']}/timeline")).json()[0]
    assert (call_in["action"], call_in["actor"]) == ("call_in", "mgr1")
    assert call_in["data"]["service_type"] == "internal"

    # R1, R21: labour and parts are recorded, nothing is charged, and it closes by itself.
    disp, tech = await api.users("disp1", "tech1")
    tid = opened[0]["id"]
    await disp.post(f"/tickets/{tid}/actions/dispatch", json={"technician": "tech1"})
    await tech.post(f"/tickets/{tid}/actions/arrive", json={})
    done = await tech.post(f"/tickets/{tid}/actions/resolve", json=RESOLVE)
    assert done.status_code == 200, done.text
    ticket = done.json()
    assert ticket["status"] == "closed"
    assert (ticket["amount_due"], ticket["invoice"]) == ("0.00", None)
    steps = (await clerk.get(f"/tickets/{tid}/timeline")).json()
    assert [s["action"] for s in steps] == ["call_in", "dispatch", "arrive", "resolve", "close"]
    assert steps[3]["data"]["labor_minutes"] == 150
    assert (await clerk.get("/invoices")).json() == []


async def test_front_office_and_field_roles_may_not_open_internal_jobs(api: Api) -> None:
    # R1: internal work is a supervisor's to open; a clerk, technician or accountant gets 403.
    for name in ("clerk1", "tech1", "acct1"):
        refused = await open_job(await api.as_user(name))
        assert refused.status_code == 403, (name, refused.text)
        for role in ("dispatcher", "director", "manager"):
            assert role in refused.json()["detail"]
    clerk = await api.as_user("clerk1")
    assert (await clerk.get("/tickets")).headers["X-Total-Count"] == "0"


async def test_a_bad_internal_job_is_422_naming_the_field(api: Api) -> None:
    disp = await api.as_user("disp1")
    bad_category = await open_job(disp, category="sales_call")
    assert bad_category.status_code == 422, bad_category.text
    assert any("category" in e["loc"] for e in bad_category.json()["errors"])
    no_description = await open_job(disp, description="  ")
    assert no_description.status_code == 422
    assert any("description" in e["loc"] for e in no_description.json()["errors"])
    unknown_zone = await open_job(disp, zone="moon")
    assert unknown_zone.status_code == 422 and "moon" in unknown_zone.json()["detail"]
    assert (await disp.get("/tickets")).headers["X-Total-Count"] == "0"


async def test_the_same_idempotency_key_is_one_internal_job_even_after_it_closed(
    api: Api,
) -> None:
    # R3 (registration is idempotent) holds for internal jobs too, as for call-ins
    # (POST /tickets answers an ended ticket's key with that ticket).
    disp, tech = await api.users("disp1", "tech1")
    headers = {"Idempotency-Key": f"job-{uuid.uuid4()}"}
    first = await disp.post("/tickets/internal", json=JOB, headers=headers)
    again = await disp.post("/tickets/internal", json=JOB, headers=headers)
    assert first.status_code == again.status_code == 201
    tid = first.json()["id"]
    assert again.json()["id"] == tid
    await disp.post(f"/tickets/{tid}/actions/dispatch", json={"technician": "tech1"})
    await tech.post(f"/tickets/{tid}/actions/arrive", json={})
    closed = await tech.post(f"/tickets/{tid}/actions/resolve", json=RESOLVE)
    assert closed.json()["status"] == "closed"
    late = await disp.post("/tickets/internal", json=JOB, headers=headers)
    assert late.status_code == 201, late.text
    assert late.json()["id"] == tid and late.json()["status"] == "closed"
    assert (await disp.get("/tickets")).headers["X-Total-Count"] == "1"
