"""Deadlines kept by durable timers, on the time-skipping test server: the arrival deadline
in working hours with its warning (R12), hold and resume, carry-over (R14), same-day
resolution (R15), the overdue repair (R10), and escalations acknowledged by their owners
(R16).

Each test runs on its own test server, whose clock starts at the real time and is skipped
forward to fixed instants in 2030, so the instants below are exact and hold on any day the
suite runs before then.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from models.escalation import AcknowledgeRequest
from models.policy import parse_policy, service_clock
from models.tables import EscalationRecord, TicketRecord
from models.ticket import TicketState
from tests.conftest import time_skipping_server
from tests.workflows.builders import (
    TicketDriver,
    at,
    eventually,
    register,
    skip_to,
    ticket_start,
)
from worker import build_worker

# The shipped office calendar, with the 2030 National Day week as a deployment lists it when
# the `holidays` package does not know that year's official schedule yet: the package's
# Oct 1-3 (+ observed) extended to the 7th, and Saturday Oct 12 a make-up working day.
POLICY = parse_policy(
    """
[calendars.office]
timezone = "Asia/Shanghai"
workdays = ["mon", "tue", "wed", "thu", "fri"]
hours = [["08:30", "12:00"], ["13:00", "17:30"]]
holidays = "CN"
extra_holidays = [2030-10-01, 2030-10-02, 2030-10-03, 2030-10-04, 2030-10-07]
extra_workdays = [2030-10-12]

[zones.urban]
calendar = "office"
arrival_hours = 6

[zones.suburban]
calendar = "office"
arrival_hours = 7
""",
    "test policy",
)


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping_server() as env:
        yield env


class Ticket(TicketDriver):
    async def call_in(self, zone: str = "urban", service_type: str = "paid") -> TicketState:
        now = await self.env.get_current_time()
        start = ticket_start(fingerprint=uuid.uuid4().hex)
        start = replace(
            start,
            call_in=replace(start.call_in, zone=zone),
            clock=service_clock(POLICY, zone, now),
            service_type=service_type,
        )
        self.handle = self.env.client.get_workflow_handle(f"ticket-{start.ticket_id}")
        return await register(self.env.client, start, self.task_queue)

    async def kinds(self) -> list[str]:
        return [e.kind for e in (await self.state()).escalations]

    async def raised(self, *kinds: str) -> list[str]:
        async def check() -> bool:
            return await self.kinds() == list(kinds)

        await eventually(check)
        return await self.kinds()


@pytest.fixture
async def ticket(
    env: WorkflowEnvironment, engine: Engine, task_queue: str
) -> AsyncIterator[Ticket]:
    async with build_worker(env.client, engine, task_queue):
        yield Ticket(env, task_queue)


async def test_friday_evening_call_in_is_due_monday_and_carried_over(
    env: WorkflowEnvironment, ticket: Ticket, engine: Engine
) -> None:
    # R12: Friday 16:30-17:30 is 1 h; Monday 08:30-12:00 is 3.5 h, 13:00-14:30 the last 1.5 h.
    # The warning comes at 80 % (4.8 h): Monday 13:18.
    await skip_to(env, at("2030-11-22", "16:30"))
    state = await ticket.call_in()
    drift = state.created_at - at("2030-11-22", "16:30")  # the instants the server took
    assert timedelta(0) <= drift < timedelta(seconds=5)
    assert state.arrival_due_at == at("2030-11-25", "14:30") + drift
    assert state.arrival_warning_at == at("2030-11-25", "13:18") + drift

    # R14, R15: still undispatched and unresolved when Friday's working day ends.
    await skip_to(env, at("2030-11-22", "17:31"))
    assert await ticket.raised("carried_over", "unresolved_same_day") == [
        "carried_over",
        "unresolved_same_day",
    ]
    state = await ticket.state()
    carried, unresolved = state.escalations
    assert carried.raised_at == at("2030-11-22", "17:30")
    assert carried.due_at == at("2030-11-25", "08:30")  # first thing Monday, with priority
    assert (carried.owner_role, state.priority) == ("dispatcher", 1)
    assert (unresolved.owner_role, unresolved.notify_roles) == ("sales", ["sales", "dispatcher"])

    # Nothing over the weekend; the warning, then the breach, on Monday.
    await skip_to(env, at("2030-11-25", "13:17"))
    assert len(await ticket.kinds()) == 2
    await skip_to(env, at("2030-11-25", "13:19"))
    await ticket.raised("carried_over", "unresolved_same_day", "arrival_warning")
    await skip_to(env, at("2030-11-25", "14:31"))
    kinds = await ticket.raised(
        "carried_over", "unresolved_same_day", "arrival_warning", "arrival_overdue"
    )
    overdue = (await ticket.state()).escalations[-1]
    assert overdue.raised_at == at("2030-11-25", "14:30") + drift  # the deadline itself
    assert (overdue.owner_role, overdue.notify_roles) == ("dispatcher", ["dispatcher", "director"])

    # R16: recorded on the ticket's read model, open until acknowledged.
    with Session(engine) as db:
        rows = db.exec(select(EscalationRecord).order_by(col(EscalationRecord.raised_at))).all()
        record = db.get(TicketRecord, state.ticket_id)
    assert [r.kind for r in rows] == kinds
    assert all(r.acknowledged_at is None for r in rows)
    assert all(r.ticket_id == state.ticket_id for r in rows)
    assert record is not None and record.priority == 1


@pytest.mark.parametrize(
    ("called_in", "zone", "due"),
    [
        # 1.5 h on Monday Sep 30; Oct 1-7 off (National Day and the weekend); Tuesday Oct 8
        # 08:30-12:00 and 13:00-14:00.
        (at("2030-09-30", "16:00"), "urban", at("2030-10-08", "14:00")),
        (at("2030-09-30", "16:00"), "suburban", at("2030-10-08", "15:00")),
        # Friday Oct 11 15:30-17:30 is 2 h; the make-up Saturday Oct 12 gives the rest:
        # 08:30-12:00 and 13:00-13:30.
        (at("2030-10-11", "15:30"), "urban", at("2030-10-12", "13:30")),
    ],
)
async def test_the_national_day_week_does_not_count_and_its_make_up_saturday_does(
    env: WorkflowEnvironment, ticket: Ticket, called_in: datetime, zone: str, due: datetime
) -> None:
    # R12: public holidays do not count; make-up working days do.
    await skip_to(env, called_in)
    state = await ticket.call_in(zone)
    assert state.arrival_due_at == due + (state.created_at - called_in)


async def test_a_hold_moves_the_deadline_by_the_paused_working_time_not_the_night(
    env: WorkflowEnvironment, ticket: Ticket
) -> None:
    # R12: called in Monday 09:00, due 16:00 (3 h before lunch, 3 after).
    await skip_to(env, at("2030-11-25", "09:00"))
    state = await ticket.call_in()
    drift = state.created_at - at("2030-11-25", "09:00")
    assert state.arrival_due_at == at("2030-11-25", "16:00") + drift
    await ticket.act("dispatch", "disp1", ["dispatcher"], technician="tech1")

    # On hold at 10:00 with 5 working hours left; resumed Tuesday 09:00.
    await skip_to(env, at("2030-11-25", "10:00"))
    held = await ticket.act("hold", "clerk1", ["clerk"], reason="customer away until tomorrow")
    assert held.hold is not None and held.hold.reason == "customer away until tomorrow"
    with pytest.raises(WorkflowUpdateFailedError):  # nobody can receive the technician
        await ticket.act("arrive", "tech1", ["technician"])
    await skip_to(env, at("2030-11-26", "09:00"))
    assert "arrival_overdue" not in await ticket.kinds()  # the clock was paused at 16:00
    resumed = await ticket.act("resume", "clerk1", ["clerk"])

    # Tuesday 09:00 + 5 working hours = 15:00, not Monday 16:00 + 23 wall-clock hours.
    # (Each step lands some milliseconds after the instant skipped to; they carry over.)
    hold_drift = held.hold.since - at("2030-11-25", "10:00")
    resume_drift = resumed.updated_at - at("2030-11-26", "09:00")
    assert resumed.hold is None
    assert resumed.arrival_due_at == (at("2030-11-26", "15:00") + drift - hold_drift + resume_drift)
    entry = (await ticket.state()).timeline[-1]
    assert entry.action == "resume"
    # Monday 10:00-12:00, 13:00-17:30 and Tuesday 08:30-09:00: 7 working hours paused.
    assert entry.data["paused_working_minutes"] == pytest.approx(7 * 60, abs=0.2)

    await skip_to(env, at("2030-11-26", "15:01"))
    await ticket.raised("unresolved_same_day", "arrival_warning", "arrival_overdue")
    assert (await ticket.state()).escalations[-1].raised_at == resumed.arrival_due_at


async def test_arrival_on_time_raises_nothing_and_resolution_the_same_day_neither(
    env: WorkflowEnvironment, ticket: Ticket
) -> None:
    await skip_to(env, at("2030-11-25", "09:00"))
    await ticket.call_in()
    await ticket.act("dispatch", "disp1", ["dispatcher"], technician="tech1")
    await ticket.act("arrive", "tech1", ["technician"])
    await ticket.act(
        "resolve",
        "tech1",
        ["technician"],
        work_summary="fuse",
        labor_minutes=0,
        parts=[],
        customer_signature="Li Lei",
    )
    await skip_to(env, at("2030-11-26", "18:00"))
    await asyncio.sleep(0.3)
    assert await ticket.kinds() == []


async def test_a_repair_past_its_promised_date_goes_to_the_director_at_once(
    env: WorkflowEnvironment, ticket: Ticket
) -> None:
    # R10
    await skip_to(env, at("2030-11-25", "09:00"))
    await ticket.call_in()
    await ticket.act("dispatch", "disp1", ["dispatcher"], technician="tech1")
    await ticket.act("arrive", "tech1", ["technician"])
    promised_by = at("2030-11-27", "17:00")
    await ticket.act(
        "carry_in",
        "tech1",
        ["technician"],
        customer_signature="Li Lei",
        promised_by=promised_by.isoformat(),
    )
    # A failed inspection sends it back: still not done.
    await ticket.act("record_repair", "tech1", ["technician"], labor_minutes=30, notes="board")
    await ticket.act("inspect", "dir1", ["director"], passed=False, notes="still flickers")
    await skip_to(env, at("2030-11-27", "16:59"))
    assert "repair_overdue" not in await ticket.kinds()
    await skip_to(env, at("2030-11-27", "17:01"))
    await ticket.raised("unresolved_same_day", "repair_overdue")
    overdue = (await ticket.state()).escalations[-1]
    assert (overdue.raised_at, overdue.due_at) == (promised_by, promised_by)
    assert overdue.owner_role == "director"
    assert overdue.details["receipt"].startswith("PR-")


async def test_escalations_are_acknowledged_by_their_owners_once(
    env: WorkflowEnvironment, ticket: Ticket
) -> None:
    # R16: open until acknowledged; only an owner (or a director) may acknowledge.
    await skip_to(env, at("2030-11-22", "16:30"))
    await ticket.call_in()
    await skip_to(env, at("2030-11-22", "17:31"))
    await ticket.raised("carried_over", "unresolved_same_day")
    carried = (await ticket.state()).escalations[0]

    def ack(actor: str, roles: list[str], escalation_id: str = carried.id) -> Any:
        return ticket.handle.execute_update(
            "acknowledge", AcknowledgeRequest(escalation_id, actor, roles), result_type=dict
        )

    for actor, roles, error_type in [
        ("tech1", ["technician"], "NotAnOwner"),
        ("sales1", ["sales"], "NotAnOwner"),
        ("disp1", ["dispatcher"], "UnknownEscalation"),
    ]:
        escalation_id = "T-NOPE-E9" if error_type == "UnknownEscalation" else carried.id
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await ack(actor, roles, escalation_id)
        assert isinstance(refused.value.cause, ApplicationError)
        assert refused.value.cause.type == error_type
    first = await ack("disp1", ["dispatcher"])
    again = await ack("dir1", ["director"])
    assert first["acknowledged_by"] == again["acknowledged_by"] == "disp1"
    state = await ticket.state()
    assert [e.is_open for e in state.escalations] == [False, True]
    assert [e.action for e in state.timeline].count("acknowledge") == 1

    # R15: the promised resolution time goes to the sales director's report.
    promised = at("2030-11-26", "12:00")
    await ticket.act("promise", "disp1", ["dispatcher"], promised_by=promised.isoformat())
    unresolved = (await ticket.state()).escalations[1]
    assert unresolved.details["promised_by"] == promised.isoformat()
    assert unresolved.due_at == promised


async def test_the_ticket_and_invoice_years_are_the_office_calendars(
    env: WorkflowEnvironment, ticket: Ticket
) -> None:
    # New Year's Eve 20:00 UTC is already 04:00 on January 1st in Shanghai (R21 numbering).
    await skip_to(env, datetime.fromisoformat("2030-12-31T20:00:00+00:00"))
    state = await ticket.call_in()
    assert state.number is not None and state.number.startswith("T2031-")
    await ticket.act("dispatch", "disp1", ["dispatcher"], technician="tech1")
    await ticket.act("arrive", "tech1", ["technician"])
    resolved = await ticket.act(
        "resolve",
        "tech1",
        ["technician"],
        work_summary="fuse",
        labor_minutes=60,
        parts=[],
        customer_signature="Li Lei",
    )
    assert resolved.invoice is not None and resolved.invoice.number == "INV-2031-000001"


async def test_an_internal_job_makes_no_promise_to_a_customer(
    env: WorkflowEnvironment, ticket: Ticket, engine: Engine
) -> None:
    # R1: an inspection, parts handling or training has no customer waiting: no arrival
    # deadline, no warning, no carry-over, no report to sales, however long it waits.
    await skip_to(env, at("2030-11-25", "09:00"))
    state = await ticket.call_in(service_type="internal")
    assert state.service_type == "internal" and state.arrival_due_at is None
    await skip_to(env, at("2030-11-28", "09:00"))
    await asyncio.sleep(1)  # the worker takes whatever the skipped clock set off
    assert await ticket.kinds() == []
    with Session(engine) as db:
        assert db.exec(select(EscalationRecord)).all() == []
        record = db.get(TicketRecord, state.ticket_id)
    assert record is not None and record.arrival_due_at is None and record.priority == 0
