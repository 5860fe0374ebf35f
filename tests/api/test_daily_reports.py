"""The day's reports over HTTP (R27-R29): the technician reads and confirms their report (with
a correction), the director reviews it, the branch manager signs it; every refusal says why;
the day's reports as JSON and CSV. The report's life in time (drafted at the end of the
working day, escalated when late) is tests/workflows/test_daily_report.py."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from models.daily_report import DailyReportStart, Window
from models.policy import load_policy
from models.worktime import local
from tests.api.conftest import PASSWORD, Api
from tests.api.test_kpis import fixed_on_the_first_visit
from tests.workflows.builders import eventually
from workflows.daily_report import DailyReportWorkflow, daily_report_workflow_id

POLICY = load_policy(None)


async def ok(answer: httpx.Response) -> Any:
    assert answer.status_code == 200, answer.text
    return answer.json()


async def todays_report(api: Api, dev_env: WorkflowEnvironment) -> str:
    """The city's report of today, drafted now from the day's work (a branch's own workflow
    opens it at the end of the working day)."""
    now = datetime.now(UTC)
    day = local(now, POLICY.office_timezone).date()
    calendar = POLICY.calendar_near(POLICY.reports_calendar, now)
    window = Window(now - timedelta(hours=2), datetime.now(UTC), calendar)
    start = DailyReportStart("city", day, window, now + timedelta(hours=1), ["vp"])
    await dev_env.client.start_workflow(
        DailyReportWorkflow.run,
        start,
        id=daily_report_workflow_id("city", day.isoformat()),
        task_queue=api.settings.task_queue,
    )
    return day.isoformat()


async def drafted(api: Api, day: str) -> dict[str, Any] | None:
    director = await api.as_user("dir1")
    found = await ok(await director.get("/reports/daily", params={"date": day}))
    return found[0] if found and found[0]["status"] != "drafting" else None


async def test_a_day_confirmed_reviewed_and_signed_over_http(
    api: Api, dev_env: WorkflowEnvironment
) -> None:
    await fixed_on_the_first_visit(api, "SN-DAY-1")
    day = await todays_report(api, dev_env)
    report = await eventually(lambda: drafted(api, day))
    assert (report["branch"], report["status"]) == ("city", "awaiting_confirmation")
    path = f"/reports/daily/city/{day}"

    tech1, tech2, clerk = await api.users("tech1", "tech2", "clerk1")
    [mine] = await ok(await tech1.get("/reports/daily/mine", params={"date": day}))
    [job] = mine["jobs"]
    assert (mine["technician"], job["category"], job["steps"]) == (
        "tech1",
        "paid",
        ["arrive", "resolve"],
    )
    assert await ok(await tech2.get("/reports/daily/mine", params={"date": day})) == []
    assert (await clerk.get("/reports/daily")).status_code == 403

    other = await tech2.post(f"{path}/confirm", json={"technician": "tech1"})
    assert other.status_code == 403 and "only tech1" in other.json()["detail"]
    unknown = {"corrections": [{"ticket_id": "not-mine", "on_site_minutes": 30}]}
    wrong = await tech1.post(f"{path}/confirm", json=unknown)
    assert wrong.status_code == 422 and "not-mine is not in the report" in wrong.text
    too_long = {"corrections": [{"ticket_id": job["ticket_id"], "on_site_minutes": 5000}]}
    assert (await tech1.post(f"{path}/confirm", json=too_long)).status_code == 422
    manager = await api.as_user("mgr1")
    early = await manager.post(f"{path}/sign", json={})
    assert early.status_code == 409 and "tech1's confirmation" in early.json()["detail"]

    fixed = {"ticket_id": job["ticket_id"], "on_site_minutes": 45, "note": "waited for a key"}
    confirmed = await ok(await tech1.post(f"{path}/confirm", json={"corrections": [fixed]}))
    assert confirmed["status"] == "awaiting_review"
    assert confirmed["technicians"][0]["jobs"][0]["on_site_minutes"] == 45
    assert (await tech1.post(f"{path}/review", json={"technician": "tech1"})).status_code == 403
    director = await api.as_user("dir1")
    reviewed = await ok(await director.post(f"{path}/review", json={"technician": "tech1"}))
    assert reviewed["status"] == "awaiting_signature"
    assert reviewed["roll_up"]["total"]["on_site_minutes"] == 45

    admin = await api.as_user("admin")
    county = {"username": "mgr9", "password": PASSWORD, "full_name": "County manager"}
    made = await admin.post("/users", json=county | {"roles": ["manager"], "branch": "county"})
    assert made.status_code == 201, made.text
    elsewhere = await (await api.as_user("mgr9")).post(f"{path}/sign", json={})
    assert elsewhere.status_code == 403 and "county" in elsewhere.json()["detail"]
    signed = await ok(await manager.post(f"{path}/sign", json={"note": "seen"}))
    assert signed["signed_by"] == "mgr1" and signed["status"] in ("signed", "forwarded")
    again = await manager.post(f"{path}/sign", json={})
    assert again.status_code == 409

    exported = await director.get("/reports/daily", params={"date": day, "format": "csv"})
    [row] = list(csv.DictReader(io.StringIO(exported.text)))
    assert (row["technician"], row["on_site_minutes"], row["note"]) == (
        "tech1",
        "45",
        "waited for a key",
    )
    assert (row["confirmed_by"], row["reviewed_by"], row["signed_by"]) == ("tech1", "dir1", "mgr1")


async def test_steps_on_a_report_that_is_not_there_are_refused(api: Api) -> None:
    manager = await api.as_user("mgr1")
    missing = await manager.post("/reports/daily/city/2020-01-06/sign", json={})
    assert missing.status_code == 404 and "no daily report" in missing.json()["detail"]
    bad_day = await manager.post("/reports/daily/city/2020-13-01/sign", json={})
    assert bad_day.status_code == 422
    extra = await manager.post("/reports/daily/city/2020-01-06/sign", json={"colour": "red"})
    assert extra.status_code == 422
