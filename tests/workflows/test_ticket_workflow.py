"""The ticket workflow against the time-skipping test server (R3–R6, R11)."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from models.lifecycle import Status
from models.tables import TicketRecord, TimelineRecord
from tests.workflows.builders import RESOLVE_FREE, act, register, ticket_start
from worker import build_worker
from workflows.ticket import TIMELINE_KEPT, TicketWorkflow


async def test_call_in_to_closed_with_nothing_to_pay(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str
) -> None:
    # R3, R4, R5, R11: every step lands in the read model and the timeline.
    client = time_env.client
    async with build_worker(client, engine, task_queue):
        start = ticket_start()
        registered = await register(client, start, task_queue)
        assert registered.status is Status.REGISTERED
        assert registered.number and registered.number.startswith("T")
        handle = client.get_workflow_handle_for(TicketWorkflow.run, f"ticket-{start.ticket_id}")
        await handle.execute_update(
            TicketWorkflow.act, act("dispatch", "disp", ["dispatcher"], technician="tech1")
        )
        await handle.execute_update(TicketWorkflow.act, act("arrive", "tech1", ["technician"]))
        final = await handle.execute_update(
            TicketWorkflow.act, act("resolve", "tech1", ["technician"], **RESOLVE_FREE)
        )
        assert final.status is Status.CLOSED
        result = await handle.result()
        assert result.status is Status.CLOSED
        history = await handle.fetch_history()

    # Issue 16: every history event costs throughput. A new ticket records one patch marker,
    # however many patches its code carries, and its resolution is projected with the close
    # it leads to: four projections for five steps.
    markers = Counter(
        event.marker_recorded_event_attributes.marker_name
        for event in history.events
        if event.HasField("marker_recorded_event_attributes")
    )
    assert markers == {"core_patch": 1, "core_local_activity": 4}
    with Session(engine) as session:
        row = session.get(TicketRecord, start.ticket_id)
        assert row is not None and row.status == "closed" and row.technician == "tech1"
        steps = (
            session.exec(
                select(TimelineRecord)
                .where(TimelineRecord.ticket_id == start.ticket_id)
                .order_by(TimelineRecord.seq)
            )
            .scalars()
            .all()
        )
    assert [(s.action, s.actor) for s in steps] == [
        ("call_in", "clerk1"),
        ("dispatch", "disp"),
        ("arrive", "tech1"),
        ("resolve", "tech1"),
        ("close", "system"),
    ]


async def test_refused_step_leaves_no_trace(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str
) -> None:
    client = time_env.client
    async with build_worker(client, engine, task_queue):
        start = ticket_start()
        await register(client, start, task_queue)
        handle = client.get_workflow_handle_for(TicketWorkflow.run, f"ticket-{start.ticket_id}")
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(TicketWorkflow.act, act("arrive", "tech1", ["technician"]))
        cause = refused.value.cause
        assert isinstance(cause, ApplicationError) and cause.type == "InvalidTransition"
        assert cause.details[0]["allowed_actions"] == ["dispatch", "cancel", "hold", "promise"]
        # R4: a technician is not a dispatcher.
        with pytest.raises(WorkflowUpdateFailedError) as forbidden:
            await handle.execute_update(
                TicketWorkflow.act, act("dispatch", "tech1", ["technician"], technician="tech1")
            )
        assert isinstance(forbidden.value.cause, ApplicationError)
        assert forbidden.value.cause.type == "Forbidden"
        state = await handle.query(TicketWorkflow.state_query)
        assert state.status is Status.REGISTERED and state.seq == 1
        history = await handle.fetch_history()
        assert not [
            e
            for e in history.events
            if e.HasField("workflow_execution_update_accepted_event_attributes")
            and e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
            == "act"
        ]


@pytest.mark.both_databases
async def test_concurrent_registrations_make_one_ticket(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str
) -> None:
    # R3: registration is idempotent, even when the same call arrives six times at once.
    client = time_env.client
    async with build_worker(client, engine, task_queue):
        start = ticket_start()
        results = await asyncio.gather(*(register(client, start, task_queue) for _ in range(6)))
        assert {r.number for r in results} == {results[0].number}
        description = await client.get_workflow_handle(f"ticket-{start.ticket_id}").describe()
        assert description.status == WorkflowExecutionStatus.RUNNING
    with Session(engine) as session:
        rows = session.exec(select(TicketRecord)).scalars().all()
    assert len(rows) == 1


async def test_a_long_lived_ticket_keeps_its_newest_steps_and_answers_without_them(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str
) -> None:
    # However many steps a ticket takes, its state (carried by continue-as-new) keeps only the
    # newest TIMELINE_KEPT of them, and no update answers with the timeline at all: no payload
    # grows with a ticket's age. The read model keeps every step (R11).
    start = ticket_start()
    async with build_worker(time_env.client, engine, task_queue):
        await register(time_env.client, start, task_queue)
        handle = time_env.client.get_workflow_handle_for(
            TicketWorkflow.run, f"ticket-{start.ticket_id}"
        )
        for n in range(TIMELINE_KEPT // 2 + 5):
            held = await handle.execute_update(
                TicketWorkflow.act, act("hold", "c", ["clerk"], reason=f"away {n}")
            )
            assert held.timeline == []
            await handle.execute_update(TicketWorkflow.act, act("resume", "c", ["clerk"]))
        state = await handle.query(TicketWorkflow.state_query)
    steps = 1 + 2 * (TIMELINE_KEPT // 2 + 5)
    assert state.seq == steps
    assert len(state.timeline) == TIMELINE_KEPT
    assert [e.seq for e in state.timeline] == list(range(steps - TIMELINE_KEPT + 1, steps + 1))
    with Session(engine) as db:
        recorded = db.exec(
            select(TimelineRecord.seq).where(TimelineRecord.ticket_id == start.ticket_id)
        ).all()
    assert sorted(seq for (seq,) in recorded) == list(range(1, steps + 1))
