"""The work order's approvals as durable waits (R16–R19): an undecided approval goes up the
chain in working time, and the ticket carries on with the decision, also after it continued
as new; a declined quotation returns the product unrepaired with the diagnosis fee.

The timed tests run on their own time-skipping test server skipped to fixed instants in 2030
(office time, Shanghai), so the working-time arithmetic below is exact.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from models.approvals import DECIDE_UPDATE, Approval, DecisionRequest
from models.policy import approval_terms, load_policy, service_clock
from models.tables import ApprovalRecord, EscalationRecord, PartRecord
from models.ticket import TicketState
from tests.conftest import BIN, time_skipping_server
from tests.workflows.builders import (
    TicketDriver,
    at,
    eventually,
    register,
    skip_to,
    ticket_start,
)
from worker import DATA_CONVERTER, build_worker, register_search_attributes

POLICY = load_policy(None)
TECH = ["technician"]


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping_server() as env:
        yield env


def stock(engine: Engine, part_no: str, cost: str, price: str, on_hand: int) -> None:
    with Session(engine) as db:
        db.add(
            PartRecord(
                part_no=part_no,
                name=f"part {part_no}",
                unit_cost=Decimal(cost),
                list_price=Decimal(price),
                stock_on_hand=on_hand,
            )
        )
        db.commit()


def on_hand(engine: Engine, part_no: str) -> int:
    with Session(engine) as db:
        part = db.get(PartRecord, part_no)
        assert part is not None
        return part.stock_on_hand


class Ticket(TicketDriver):
    """A paid ticket with the shipped policy's approval terms, driven by its updates."""

    async def call_in(self) -> TicketState:
        now = await self.env.get_current_time()
        start = ticket_start(uuid.uuid4().hex, approval_terms(POLICY))
        start = replace(start, clock=service_clock(POLICY, "urban", now))
        self.handle = self.env.client.get_workflow_handle(f"ticket-{start.ticket_id}")
        return await register(self.env.client, start, self.task_queue)

    async def decide(self, approval_id: str, actor: str, role: str, approve: bool) -> Approval:
        approval: Approval = await self.handle.execute_update(
            DECIDE_UPDATE,
            DecisionRequest(approval_id, actor, [role], approve, "checked"),
            result_type=Approval,
        )
        return approval

    async def in_workshop(self) -> None:
        """Called in, dispatched, on site and carried in; promised back in a month."""
        await self.call_in()
        await self.act("dispatch", "disp1", ["dispatcher"], technician="tech1")
        await self.act("arrive", "tech1", TECH)
        promised = (await self.env.get_current_time()) + timedelta(days=30)
        await self.act(
            "carry_in", "tech1", TECH, customer_signature="Li Lei", promised_by=promised.isoformat()
        )


@pytest.fixture
async def ticket(
    env: WorkflowEnvironment, engine: Engine, task_queue: str
) -> AsyncIterator[Ticket]:
    async with build_worker(env.client, engine, task_queue):
        yield Ticket(env, task_queue)


async def test_an_undecided_approval_goes_up_the_chain_in_working_time(
    env: WorkflowEnvironment, ticket: Ticket, engine: Engine
) -> None:
    stock(engine, "P-1", "40.00", "100.00", 10)
    stock(engine, "P-2", "300.00", "400.00", 5)
    await skip_to(env, at("2030-03-01", "16:00"))  # a Friday
    await ticket.in_workshop()
    # R19: the quotation, accepted with the customer's signature, covers one P-1.
    await ticket.act("quote", "tech1", TECH, labor_minutes=60, parts=[{"part_no": "P-1", "qty": 1}])
    await ticket.act("accept_quote", "clerk1", ["clerk"], customer_signature="Li Lei")
    state = await ticket.act("issue_parts", "tech1", TECH, parts=[{"part_no": "P-1", "qty": 1}])
    assert on_hand(engine, "P-1") == 9  # within the quotation: issued at once

    # A part added during the repair waits for the workshop manager's sign-off (R19).
    state = await ticket.act(
        "issue_parts", "tech1", TECH, parts=[{"part_no": "P-2", "qty": 1}], reason="cracked board"
    )
    assert state.work_order is not None
    (added,) = state.work_order.pending()
    drift = added.requested_at - at("2030-03-01", "16:00")
    assert timedelta(0) <= drift < timedelta(seconds=10)
    assert (added.kind, added.amount, added.approver_roles) == (
        "added_parts",
        Decimal("400.00"),
        ["manager"],
    )
    assert on_hand(engine, "P-2") == 5
    # Four working hours: Friday 16:00-17:30, then Monday 08:30-11:00.
    assert added.due_at == at("2030-03-04", "11:00") + drift
    with pytest.raises(WorkflowUpdateFailedError) as early:
        await ticket.decide(added.id, "dir1", "director", True)
    assert isinstance(early.value.cause, ApplicationError)
    assert early.value.cause.type == "Forbidden"  # not the director's yet

    async def overdue_count() -> int:
        return sum(e.kind == "approval_overdue" for e in (await ticket.state()).escalations)

    # Nothing over the weekend; on Monday at 11:00 it goes to the director (R16).
    await skip_to(env, at("2030-03-04", "10:59"))
    assert await overdue_count() == 0
    await skip_to(env, at("2030-03-04", "11:01"))
    assert await eventually(lambda: _at_least(overdue_count, 1))
    approval = (await ticket.state()).work_order.approvals[0]  # type: ignore[union-attr]
    assert approval.approver_roles == ["manager", "director"]
    assert approval.due_at == at("2030-03-04", "16:00") + drift  # 11-12, then 13-16
    escalation = next(e for e in (await ticket.state()).escalations if e.kind == "approval_overdue")
    assert (escalation.owner_role, escalation.details["approval"]) == ("director", added.id)

    # Then to the VP, the top of the chain: no further escalation, no due time.
    await skip_to(env, at("2030-03-04", "16:01"))
    assert await eventually(lambda: _at_least(overdue_count, 2))
    approval = (await ticket.state()).work_order.approvals[0]  # type: ignore[union-attr]
    assert approval.approver_roles == ["manager", "director", "vp"]
    assert approval.due_at is None

    # The VP approves: the ticket carries on and issues the part, the quotation grows.
    decided = await ticket.decide(added.id, "vp1", "vp", True)
    assert (decided.status, decided.decided_by) == ("approved", "vp1")
    assert on_hand(engine, "P-2") == 4
    order = (await ticket.state()).work_order
    assert order is not None and order.quotation is not None
    assert [p.part_no for p in order.quotation.parts] == ["P-1", "P-2"]
    assert order.quotation.amount == Decimal("620.00")  # 120 labour + 100 + 400
    with pytest.raises(WorkflowUpdateFailedError) as twice:
        await ticket.decide(added.id, "dir1", "director", False)
    assert twice.value.cause.type == "Conflict"  # type: ignore[union-attr]

    with Session(engine) as db:
        row = db.get(ApprovalRecord, added.id)
        escalated = db.exec(
            select(EscalationRecord).where(EscalationRecord.kind == "approval_overdue")
        ).all()
    assert row is not None and (row.status, row.approver_roles) == (
        "approved",
        ["manager", "director", "vp"],
    )
    assert [e.owner_role for e in escalated] == ["director", "vp"]


async def _at_least(count: Any, wanted: int) -> bool:
    return bool(await count() >= wanted)


async def test_a_declined_quotation_returns_the_product_unrepaired_for_the_diagnosis_fee(
    env: WorkflowEnvironment, ticket: Ticket, engine: Engine
) -> None:
    stock(engine, "P-1", "40.00", "100.00", 10)
    await skip_to(env, at("2030-03-05", "09:00"))
    await ticket.in_workshop()
    refused = ticket.act("record_repair", "tech1", TECH, labor_minutes=30, notes="fixed")
    with pytest.raises(WorkflowUpdateFailedError) as not_yet:
        await refused
    assert "quotation" in str(not_yet.value.cause)  # R19: no repair before acceptance
    await ticket.act("quote", "tech1", TECH, labor_minutes=90, parts=[{"part_no": "P-1", "qty": 2}])
    state = await ticket.act(
        "decline_quote", "clerk1", ["clerk"], reason="too dear", customer_signature="Li Lei"
    )
    assert state.status == "ready_for_return"
    assert on_hand(engine, "P-1") == 10  # nothing was issued
    state = await ticket.act("return", "tech1", TECH, customer_signature="Li Lei")
    assert state.status == "resolved"
    assert state.invoice is not None and state.invoice.amount == Decimal("50.00")
    assert state.invoice.lines == [
        {"description": "diagnosis (quotation declined)", "amount": "50.00"}
    ]
    state = await ticket.act(
        "record_payment", "acct1", ["accountant"], amount="50.00", method="cash"
    )
    assert state.status == "closed"


@pytest.fixture
async def short_history_env() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server that suggests continue-as-new after 40 history events, so a ticket
    continues as new within a few steps (as a years-long one does after thousands)."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        data_converter=DATA_CONVERTER,
        ui=False,
        dev_server_log_level="error",
        dev_server_extra_args=[
            "--dynamic-config-value",
            "limit.historyCount.suggestContinueAsNew=40",
        ],
    )
    async with env:
        await register_search_attributes(env.client)
        yield env


async def test_a_decision_after_continue_as_new_still_lands(
    short_history_env: WorkflowEnvironment, engine: Engine, task_queue: str
) -> None:
    stock(engine, "P-1", "40.00", "100.00", 10)
    env = short_history_env
    async with build_worker(env.client, engine, task_queue):
        ticket = Ticket(env, task_queue)
        await ticket.in_workshop()
        await ticket.act("quote", "tech1", TECH, labor_minutes=60, parts=[])
        await ticket.act("accept_quote", "clerk1", ["clerk"], customer_signature="Li Lei")
        state = await ticket.act("issue_parts", "tech1", TECH, parts=[{"part_no": "P-1", "qty": 2}])
        assert state.work_order is not None
        (added,) = state.work_order.pending()
        first_run = (await ticket.handle.describe()).run_id
        promised = (await env.get_current_time()) + timedelta(days=40)
        for _ in range(20):  # steps, until the ticket has continued as new
            await ticket.act("promise", "clerk1", ["clerk"], promised_by=promised.isoformat())
            if (await ticket.handle.describe()).run_id != first_run:
                break
        current = ticket.env.client.get_workflow_handle(ticket.handle.id)
        assert (await current.describe()).run_id != first_run, "never continued as new"

        ticket.handle = current
        decided = await ticket.decide(added.id, "mgr1", "manager", True)
        assert decided.status == "approved"
        assert on_hand(engine, "P-1") == 8
        order = (await ticket.state()).work_order
        assert order is not None and [p.qty for p in order.issued] == [2]
