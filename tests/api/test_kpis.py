"""R30 over HTTP: the KPIs of tickets run through their workflows (their milestones are what
the steps recorded), as JSON and CSV, and who reads which branch's (the ticket lists too).
The figures themselves are held to hand-computed answers in tests/store/test_kpis.py."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.api.conftest import PASSWORD, Api, call_in_body

TODAY = datetime.now(UTC).date()
WEEK = {
    "from": (TODAY - timedelta(days=3)).isoformat(),
    "to": (TODAY + timedelta(days=3)).isoformat(),
}
FUSES = [{"part_no": "FUSE-5A", "qty": 2, "unit_price": "2.50"}]
RESOLVE = {"work_summary": "fixed", "labor_minutes": 30, "parts": FUSES, "customer_signature": "Li"}


async def ok(answer: httpx.Response) -> Any:
    assert answer.status_code == 200, answer.text
    return answer.json()


async def fixed_on_the_first_visit(api: Api, serial_no: str) -> None:
    clerk, disp, tech = await api.users("clerk1", "disp1", "tech1")
    body = call_in_body(product={"model": "TV-55", "serial_no": serial_no})
    called = await clerk.post("/tickets", json=body)
    assert called.status_code == 201, called.text
    tid = called.json()["id"]
    await ok(await disp.post(f"/tickets/{tid}/actions/dispatch", json={"technician": "tech1"}))
    await ok(await tech.post(f"/tickets/{tid}/actions/arrive", json={}))
    await ok(await tech.post(f"/tickets/{tid}/actions/resolve", json=RESOLVE))


async def test_a_ticket_fixed_on_the_first_visit_shows_in_the_weeks_figures(api: Api) -> None:
    await fixed_on_the_first_visit(api, "SN-KPI-1")
    clerk, disp = await api.users("clerk1", "disp1")
    waiting = (await clerk.post("/tickets", json=call_in_body())).json()["id"]
    for technician in ("tech1", "tech2"):  # re-dispatched, nobody there yet
        await ok(
            await disp.post(f"/tickets/{waiting}/actions/dispatch", json={"technician": technician})
        )

    director = await api.as_user("dir1")
    report = await ok(await director.get("/reports/kpis", params={**WEEK, "group_by": "branch"}))
    [city] = report["groups"]  # the urban zone is the city branch's (the shipped policy)
    assert (report["from"], report["to"], city["group"]) == (WEEK["from"], WEEK["to"], "city")
    assert (city["tickets"], city["arrival_met"], city["arrival_missed"]) == (2, 1, 0)
    assert (city["first_visit_fixes"], city["first_visit_fix_rate"]) == (1, 1.0)
    assert (city["dispatched"], city["redispatched"], city["redispatch_rate"]) == (2, 1, 0.5)
    assert city["time_to_arrive_hours"]["count"] == 1
    assert city["time_to_resolve_hours"]["count"] == 1
    assert city["backlog"]["under_1_day"] == 1  # the one still waiting
    # R36: the fuses that went into the TV-55, for the quality department
    assert report["defects"] == [
        {"product_model": "TV-55", "part": "FUSE-5A", "repairs": 1, "quantity": 2}
    ]

    exported = await director.get("/reports/kpis", params=WEEK, headers={"Accept": "text/csv"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    [row] = list(csv.DictReader(io.StringIO(exported.text)))
    assert (row["group"], row["tickets"], row["first_visit_fix_rate"]) == ("all", "2", "1.0")
    assert row["backlog.under_1_day"] == "1" and "time_to_arrive_hours.median" in row
    same = await director.get("/reports/kpis", params={**WEEK, "format": "csv"})
    assert same.text == exported.text


async def test_a_director_of_a_branch_reads_only_that_branchs_figures(api: Api) -> None:
    await fixed_on_the_first_visit(api, "SN-KPI-2")
    admin = await api.as_user("admin")
    county = {"username": "dir9", "password": PASSWORD, "full_name": "County director"}
    created = await admin.post("/users", json=county | {"roles": ["director"], "branch": "county"})
    assert created.status_code == 201, created.text
    director = await api.as_user("dir9")

    own = await ok(await director.get("/reports/kpis", params=WEEK))
    assert own["branch"] == "county" and own["groups"] == []  # the ticket is the city's
    other = await director.get("/reports/kpis", params={**WEEK, "branch": "city"})
    assert other.status_code == 403 and "county" in other.json()["detail"]
    everyone = await ok(await admin.get("/reports/kpis", params={**WEEK, "branch": "city"}))
    assert [group["tickets"] for group in everyone["groups"]] == [1]

    # The ticket lists too: a branch's director sees that branch's tickets.
    assert await ok(await director.get("/tickets")) == []
    assert (await director.get("/tickets", params={"branch": "city"})).status_code == 403
    [city] = await ok(await admin.get("/tickets", params={"branch": "city"}))
    assert city["branch"] == "city"
    assert await ok(await admin.get("/tickets", params={"branch": "county"})) == []


async def test_a_period_that_makes_no_sense_is_refused(api: Api) -> None:
    director = await api.as_user("dir1")
    backwards = await director.get(
        "/reports/kpis", params={"from": "2026-02-01", "to": "2026-01-01"}
    )
    assert backwards.status_code == 422 and "ends on or after" in backwards.text
    long = await director.get("/reports/kpis", params={"from": "2020-01-01", "to": "2026-01-01"})
    assert long.status_code == 422 and "366 days" in long.text
    unknown = await director.get("/reports/kpis", params={**WEEK, "group_by": "colour"})
    assert unknown.status_code == 422
