"""What the workflow tests build their tickets and steps from."""

from __future__ import annotations

import uuid
from decimal import Decimal

from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

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

TERMS = BillingTerms(hourly_rate=Decimal("120.00"), small_fee_threshold=Decimal("200.00"))


def ticket_start(fingerprint: str = "f1") -> TicketStart:
    call_in = CallIn(
        customer=Customer("Li Lei", "13800000000", "1 Ring Road"),
        product=Product("TV-55", "SN1"),
        zone="urban",
        problem="no picture",
        channel="phone",
    )
    return TicketStart(f"t-{uuid.uuid4()}", call_in, "clerk1", TERMS, fingerprint)


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


def act(action: str, actor: str, roles: list[str], **data: object) -> ActionRequest:
    return ActionRequest(action=action, actor=actor, roles=roles, data=dict(data))


RESOLVE_FREE = {
    "work_summary": "reseated cable",
    "labor_minutes": 0,
    "parts": [],
    "customer_signature": "Li Lei",
}
