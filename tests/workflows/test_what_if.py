"""The what-if of the shipped policy against itself is what happened (R12-R16): three tickets
run through their workflows on a time-skipping server — one on time, one held overnight, one
called in late and reached late — and the replay of their recorded instants under the same
policy finds every deadline and escalation the workflows kept, and no ticket treated
differently."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from models.policy import load_policy, service_clock
from models.what_if import compare
from store.what_if import recorded
from tests.conftest import time_skipping_server
from tests.workflows.builders import (
    RESOLVE_FREE,
    TicketDriver,
    at,
    register,
    skip_to,
    ticket_start,
)
from worker import build_worker

SHIPPED = load_policy(None)


class Ticket(TicketDriver):
    async def call_in(self) -> None:
        now = await self.env.get_current_time()
        start = ticket_start(fingerprint=uuid.uuid4().hex)
        start = replace(start, clock=service_clock(SHIPPED, "urban", now), branch="city")
        self.handle = self.env.client.get_workflow_handle(f"ticket-{start.ticket_id}")
        await register(self.env.client, start, self.task_queue)


async def test_the_shipped_policy_replayed_on_its_own_tickets_is_what_happened(
    engine: Engine, task_queue: str
) -> None:
    async with time_skipping_server() as env, build_worker(env.client, engine, task_queue):
        on_time, held, late = (Ticket(env, task_queue) for _ in range(3))
        await a_week(env, on_time, held, late)
        now = await env.get_current_time()
        with Session(engine) as db:
            tickets = recorded(db, at("2030-09-23", "00:00"), at("2030-09-28", "00:00"), None)
    comparison = compare(tickets, SHIPPED, now)

    assert len(tickets) == 3
    assert comparison.actual == comparison.candidate
    assert comparison.changed == []
    # what the workflows kept, for the record: the late one was warned, overdue, carried
    # over and unresolved that day; the held one warned once and unresolved that day.
    assert comparison.actual.escalations == {
        "arrival_warning": 2,
        "arrival_overdue": 1,
        "carried_over": 1,
        "unresolved_same_day": 2,
    }
    assert (comparison.actual.arrival_met, comparison.actual.arrival_missed) == (2, 1)


async def a_week(env: WorkflowEnvironment, on_time: Ticket, held: Ticket, late: Ticket) -> None:
    """Monday 23 September 2030 to Wednesday, in the office's time."""
    await skip_to(env, at("2030-09-23", "09:00"))
    await on_time.call_in()
    await held.call_in()
    await skip_to(env, at("2030-09-23", "09:10"))
    for ticket in (on_time, held):
        await ticket.act("dispatch", "disp1", ["dispatcher"], technician="tech1")
    await skip_to(env, at("2030-09-23", "10:00"))
    await held.act("hold", "clerk1", ["clerk"], reason="customer away until tomorrow")
    await skip_to(env, at("2030-09-23", "11:00"))
    await on_time.act("arrive", "tech1", ["technician"])
    await on_time.act("resolve", "tech1", ["technician"], **RESOLVE_FREE)
    await skip_to(env, at("2030-09-23", "16:00"))
    await late.call_in()
    await skip_to(env, at("2030-09-24", "09:00"))
    await held.act("resume", "clerk1", ["clerk"])
    await late.act("dispatch", "disp1", ["dispatcher"], technician="tech2")
    await skip_to(env, at("2030-09-24", "14:30"))
    await held.act("arrive", "tech1", ["technician"])
    await held.act("resolve", "tech1", ["technician"], **RESOLVE_FREE)
    await skip_to(env, at("2030-09-25", "10:00"))
    await late.act("arrive", "tech2", ["technician"])
    await late.act("resolve", "tech2", ["technician"], **RESOLVE_FREE)
    await skip_to(env, at("2030-09-25", "18:00"))
    await env.sleep(timedelta(seconds=1))
