"""What the workflow tests build their tickets and steps from."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment

from models.approvals import ApprovalTerms
from models.ticket import (
    ActionRequest,
    BillingTerms,
    CallIn,
    Customer,
    Product,
    RegisterRequest,
    TicketStart,
    TicketState,
)
from workflows.ticket import TicketWorkflow

SHANGHAI = ZoneInfo("Asia/Shanghai")
TERMS = BillingTerms(hourly_rate=Decimal("120.00"), small_fee_threshold=Decimal("200.00"))


def ticket_start(
    fingerprint: str = "f1", approval_terms: ApprovalTerms | None = None
) -> TicketStart:
    call_in = CallIn(
        customer=Customer("Li Lei", "13800000000", "1 Ring Road"),
        product=Product("TV-55", "SN1"),
        zone="urban",
        problem="no picture",
        channel="phone",
    )
    return TicketStart(
        f"t-{uuid.uuid4()}", call_in, "clerk1", TERMS, fingerprint, approval_terms=approval_terms
    )


async def register(client: Client, start: TicketStart, queue: str) -> TicketState:
    operation = WithStartWorkflowOperation(
        TicketWorkflow.run,
        start,
        id=f"ticket-{start.ticket_id}",
        task_queue=queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    return await client.execute_update_with_start_workflow(
        TicketWorkflow.register,
        RegisterRequest(start.fingerprint),
        start_workflow_operation=operation,
    )


def at(day: str, hhmm: str) -> datetime:
    """An instant of office time in Shanghai."""
    return datetime.fromisoformat(f"{day}T{hhmm}:00").replace(tzinfo=SHANGHAI)


async def skip_to(env: WorkflowEnvironment, instant: datetime) -> None:
    now = await env.get_current_time()
    assert instant > now, f"{instant} is already past ({now})"
    await env.sleep(instant - now)


async def eventually(check: Callable[[], Any], within: float = 10.0) -> Any:
    """Waits (real time) for the worker to process what the skipped clock set off."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.05)


def act(action: str, actor: str, roles: list[str], **data: object) -> ActionRequest:
    return ActionRequest(action=action, actor=actor, roles=roles, data=dict(data))


RESOLVE_FREE = {
    "work_summary": "reseated cable",
    "labor_minutes": 0,
    "parts": [],
    "customer_signature": "Li Lei",
}


class TicketDriver:
    """One ticket on a test server, driven by its updates; the test module's subclass calls
    it in (`call_in`, which sets `handle`)."""

    handle: WorkflowHandle[Any, Any]

    def __init__(self, env: WorkflowEnvironment, task_queue: str) -> None:
        self.env, self.task_queue = env, task_queue

    async def act(self, action: str, actor: str, roles: list[str], **data: Any) -> TicketState:
        state: TicketState = await self.handle.execute_update(
            TicketWorkflow.act, act(action, actor, roles, **data)
        )
        return state

    async def state(self) -> TicketState:
        state: TicketState = await self.handle.query(TicketWorkflow.state_query)
        return state
