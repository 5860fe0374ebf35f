"""The day's reports on a time-skipping server (R27-R29): a branch's report is drafted at the
end of each working day from its tickets' steps (none on a holiday), the technician confirms
it with a correction, the director reviews it, the roll-up is the director's report, the
manager signs it and it is forwarded to the service department; one left unsigned escalates
at the next working day's policy hour, and signing it settles the escalation.

The office works Monday to Friday, 08:30-12:00 and 13:00-17:30 in Shanghai, with a holiday on
Thursday 2030-03-07; reports are due at 10:00 the next working day.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from jobs.reports import start_branches
from models.daily_report import Correction, DailyReportState, ReportStep
from models.policy import Policy, parse_policy
from models.tables import DailyReportRecord, EscalationRecord, NotificationRecord, User
from tests.conftest import time_skipping_server
from tests.workflows.builders import RESOLVE_FREE, TicketDriver, at, eventually, register, skip_to
from tests.workflows.builders import ticket_start as bare_ticket
from worker import build_worker
from workflows.daily_report import DailyReportWorkflow
from workflows.ticket import TicketWorkflow

POLICY = """
[calendars.office]
timezone = "Asia/Shanghai"
workdays = ["mon", "tue", "wed", "thu", "fri"]
hours = [["08:30", "12:00"], ["13:00", "17:30"]]
holidays = ["2030-03-07"]

[zones.urban]
calendar = "office"
arrival_hours = 6
branch = "city"

[reports]
due_by = "10:00"
forward_to = ["vp"]
"""
STAFF = {
    "tech1": ("city", ["technician"]),
    "dir1": ("city", ["director"]),
    "mgr1": ("city", ["manager"]),
    "vp1": (None, ["vp"]),  # the head office: every branch's
    "dir9": ("county", ["director"]),  # another branch's: told nothing of the city's
}


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping_server() as env:
        yield env


@pytest.fixture
def policy() -> Policy:
    return parse_policy(POLICY, "test policy")


@pytest.fixture
def staff(engine: Engine) -> None:
    with Session(engine) as db:
        for username, (branch, roles) in STAFF.items():
            db.add(
                User(
                    username=username,
                    full_name=username,
                    password_hash="-",
                    roles=roles,
                    email=f"{username}@example.com",
                    branch=branch,
                )
            )
        db.commit()


class Ticket(TicketDriver):
    async def call_in(self) -> None:
        start = dataclasses.replace(bare_ticket(), branch="city")
        await register(self.env.client, start, self.task_queue)
        self.handle = self.env.client.get_workflow_handle_for(
            TicketWorkflow.run, f"ticket-{start.ticket_id}"
        )


async def a_days_work(env: WorkflowEnvironment, task_queue: str) -> None:
    """Monday 4 March: dispatched at 9:00, on site 10:00 to 11:30, fixed with a fuse."""
    ticket = Ticket(env, task_queue)
    await skip_to(env, at("2030-03-04", "08:50"))
    await ticket.call_in()
    await skip_to(env, at("2030-03-04", "09:00"))
    await ticket.act("dispatch", "disp1", ["dispatcher"], technician="tech1")
    await skip_to(env, at("2030-03-04", "10:00"))
    await ticket.act("arrive", "tech1", ["technician"])
    await skip_to(env, at("2030-03-04", "11:30"))
    await ticket.act("resolve", "tech1", ["technician"], **RESOLVE_FREE)


def report(client: Any, day: str) -> WorkflowHandle[Any, Any]:
    return client.get_workflow_handle_for(DailyReportWorkflow.run, f"daily-report-city-{day}")


def row(engine: Engine, day: str) -> DailyReportRecord | None:
    with Session(engine) as db:
        return db.get(DailyReportRecord, f"city:{day}")


async def test_a_day_is_drafted_confirmed_reviewed_signed_and_forwarded(
    env: WorkflowEnvironment, engine: Engine, task_queue: str, policy: Policy, staff: None
) -> None:
    await skip_to(env, at("2030-03-04", "07:00"))
    async with build_worker(env.client, engine, task_queue, policy=policy):
        assert await start_branches(env.client, policy, task_queue) == ["city"]
        await a_days_work(env, task_queue)
        handle = report(env.client, "2030-03-04")
        drafting: DailyReportState = await handle.query(DailyReportWorkflow.state_query)
        assert drafting.status == "drafting"  # until the working day ends

        await skip_to(env, at("2030-03-04", "17:31"))
        drafted = await eventually(lambda: _status(engine, "2030-03-04", "awaiting_confirmation"))
        [mine] = drafted.technicians
        assert mine["technician"] == "tech1"
        [job] = mine["jobs"]
        # R27: travelling 9:00-10:00, on site 10:00-11:30 (working minutes), its category
        assert (job["category"], job["travel_minutes"], job["on_site_minutes"]) == ("paid", 60, 90)
        assert (job["result"], job["steps"]) == ("closed", ["arrive", "resolve"])

        early = ReportStep("mgr1", ["manager"])
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(DailyReportWorkflow.sign, early)
        assert "waits for tech1's confirmation" in str(refused.value.cause)
        fixed = Correction(job["ticket_id"], on_site_minutes=80, note="left at 11:20")
        confirm = ReportStep("tech1", ["technician"], corrections=[fixed])
        await handle.execute_update(DailyReportWorkflow.confirm, confirm)
        review = ReportStep("dir1", ["director"], technician="tech1", note="ok")
        reviewed: DailyReportState = await handle.execute_update(DailyReportWorkflow.review, review)
        assert reviewed.roll_up is not None  # R28: the director's report
        assert reviewed.roll_up.total == {
            "jobs": 1,
            "travel_minutes": 60,
            "on_site_minutes": 80,
            "workshop_minutes": 0,
        }
        assert reviewed.roll_up.categories["paid"]["jobs"] == 1
        await handle.execute_update(DailyReportWorkflow.sign, ReportStep("mgr1", ["manager"]))
        done: DailyReportState = await handle.result()

        # R29: signed, then forwarded to the service department, once
        assert (done.status, done.signed_by, done.escalations) == ("forwarded", "mgr1", [])
        forwarded = await eventually(lambda: _status(engine, "2030-03-04", "forwarded"))
        assert forwarded.technicians[0]["jobs"][0]["note"] == "left at 11:20"
        sent = await _recipients(engine, "daily-report:city:2030-03-04")
        assert sent == ["vp1@example.com"]

        # Nobody worked on Tuesday and Wednesday; Thursday is a holiday: no report at all.
        await skip_to(env, at("2030-03-08", "09:00"))
        assert (await eventually(lambda: _status(engine, "2030-03-06", "no_work"))) is not None
        assert row(engine, "2030-03-05") is not None
        with pytest.raises(RPCError, match="not found"):
            await report(env.client, "2030-03-07").describe()
        friday: DailyReportState = await report(env.client, "2030-03-08").query(
            DailyReportWorkflow.state_query
        )
        assert friday.status == "drafting"


async def test_a_report_left_unsigned_escalates_and_signing_settles_it(
    env: WorkflowEnvironment, engine: Engine, task_queue: str, policy: Policy, staff: None
) -> None:
    await skip_to(env, at("2030-03-04", "07:00"))
    async with build_worker(env.client, engine, task_queue, policy=policy):
        await start_branches(env.client, policy, task_queue)
        await a_days_work(env, task_queue)
        await skip_to(env, at("2030-03-05", "09:59"))
        assert await _escalations(engine) == []
        await skip_to(env, at("2030-03-05", "10:01"))
        [late] = await eventually(lambda: _escalations(engine))
        assert (late.kind, late.owner_role) == ("daily_report_overdue", "director")
        assert late.details["missing"] == ["tech1's confirmation", "the manager's signature"]
        told = await eventually(lambda: _recipients(engine, f"escalation:{late.id}"))
        assert told == ["dir1@example.com", "mgr1@example.com"]  # the city's, not dir9

        handle = report(env.client, "2030-03-04")
        await handle.execute_update(
            DailyReportWorkflow.confirm, ReportStep("tech1", ["technician"])
        )
        review = ReportStep("dir1", ["director"], technician="tech1")
        await handle.execute_update(DailyReportWorkflow.review, review)
        await handle.execute_update(DailyReportWorkflow.sign, ReportStep("mgr1", ["manager"]))
        done: DailyReportState = await handle.result()
        [settled] = done.escalations
        assert settled.acknowledged_by == "mgr1"
        assert done.status == "forwarded"


async def _status(engine: Engine, day: str, status: str) -> DailyReportRecord | None:
    found = row(engine, day)
    return found if found is not None and found.status == status else None


async def _escalations(engine: Engine) -> list[EscalationRecord]:
    with Session(engine) as db:
        return list(db.exec(select(EscalationRecord)).all())


async def _recipients(engine: Engine, key: str) -> list[str]:
    with Session(engine) as db:
        query = select(NotificationRecord.recipient).where(col(NotificationRecord.key) == key)
        return sorted(db.exec(query).all())
