"""Tickets' commands: call-in and lifecycle steps as workflow updates, with the workflow's
refusals translated into HTTP answers."""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from datetime import UTC, datetime

from fastapi import HTTPException, status
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.workflow_answers import in_time, refused, unavailable
from models.entitlement import ServiceType
from models.policy import Policy
from models.schemas import CallInRequest, Channel, CustomerIn, InternalJobRequest, ProductIn
from models.ticket import (
    ActionRequest,
    BillingTerms,
    CallIn,
    Customer,
    Product,
    RegisterRequest,
    ServiceClock,
    SurveyTerms,
    TicketStart,
    TicketState,
)
from workflows.ticket import TicketWorkflow

IDEMPOTENCY_NAMESPACE = uuid.UUID("5f0d7e0c-6a44-4f5e-9b7e-0d8f6f1f3a11")


class TicketGone(Exception):
    """The ticket's workflow has ended (closed or cancelled) or never existed."""


def workflow_id(ticket_id: str) -> str:
    return f"ticket-{ticket_id}"


def ticket_id_for(idempotency_key: str | None) -> str:
    """The same key always names the same ticket (R3)."""
    if idempotency_key is None:
        return uuid.uuid4().hex
    return uuid.uuid5(IDEMPOTENCY_NAMESPACE, idempotency_key).hex


def fingerprint(request: CallInRequest) -> str:
    call = request.model_dump(mode="json")
    if call["customer"]["email"] is None:
        del call["customer"]["email"]  # keeps the keys of calls made before it existed
    canonical = json.dumps(call, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def internal_call_in(job: InternalJobRequest) -> CallInRequest:
    """R1: an internal job is a ticket of the company's own, with no customer."""
    return CallInRequest(
        customer=CustomerIn(name=f"internal: {job.category}", phone="00000", address="-"),
        zone=job.zone,
        product=ProductIn(model=str(job.category)),
        problem=job.description,
        channel=Channel.INTERNAL,
    )


def service_clock(policy: Policy, zone: str, now: datetime) -> ServiceClock:
    """R12–R15: the zone's deadline terms as they stand at call-in, holidays resolved."""
    return ServiceClock(
        calendar=policy.work_calendar(zone, now),
        arrival_hours=policy.zones[zone].arrival_hours,
        warning_fraction=policy.deadlines.warning_fraction,
    )


async def call_in(
    client: Client,
    task_queue: str,
    policy: Policy,
    request: CallInRequest,
    clerk: str,
    idempotency_key: str | None,
    service_type: ServiceType = ServiceType.PAID,
) -> TicketState:
    """R3: start the ticket's workflow and wait for its registration, at most once per key.
    The service type is decided at registration (R2) unless the job is internal (R1)."""
    if request.zone not in policy.zones:
        known = ", ".join(sorted(policy.zones))
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"unknown zone '{request.zone}'; the policy's zones are: {known}",
        )
    ticket_id = ticket_id_for(idempotency_key)
    start = TicketStart(
        ticket_id=ticket_id,
        call_in=CallIn(
            customer=Customer(**request.customer.model_dump()),
            product=Product(**request.product.model_dump()),
            zone=request.zone,
            problem=request.problem,
            channel=request.channel.value,
        ),
        registered_by=clerk,
        terms=BillingTerms(
            hourly_rate=policy.billing.hourly_rate,
            small_fee_threshold=policy.billing.small_fee_threshold,
        ),
        fingerprint=fingerprint(request),
        service_type=service_type.value,
        clock=service_clock(policy, request.zone, datetime.now(UTC)),
        survey=SurveyTerms(
            delay_hours=policy.survey.delay_hours,
            reminder_hours=policy.survey.reminder_hours,
            expiry_hours=policy.survey.expiry_hours,
            repeat_window_days=policy.complaints.repeat_window_days,
        ),
    )
    operation = WithStartWorkflowOperation(
        TicketWorkflow.run,
        start,
        id=workflow_id(ticket_id),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        # An ended ticket's key must not start a second ticket.
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
    try:
        return await in_time(
            client.execute_update_with_start_workflow(
                TicketWorkflow.register,
                RegisterRequest(start.fingerprint),
                start_workflow_operation=operation,
            ),
            "ticket",
        )
    except WorkflowUpdateFailedError as failure:
        refused(failure, "ticket")
    except WorkflowAlreadyStartedError:
        # The operation keeps the same error for its handle; take it so it is not logged.
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await operation.workflow_handle()
        await _check_ended_ticket(client, ticket_id, start.fingerprint)
    except RPCError as error:
        if error.status != RPCStatusCode.ALREADY_EXISTS:
            unavailable(error)
        await _check_ended_ticket(client, ticket_id, start.fingerprint)
    raise TicketGone(ticket_id)


async def _check_ended_ticket(client: Client, ticket_id: str, call_fingerprint: str) -> None:
    """The key's ticket has ended (closed or cancelled): it is still that ticket, unless the
    key now comes with a different call."""
    handle = client.get_workflow_handle_for(TicketWorkflow.run, workflow_id(ticket_id))
    ended = await handle.query(TicketWorkflow.state_query)
    if ended.fingerprint != call_fingerprint:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            {
                "detail": "this Idempotency-Key was already used for a different call-in",
                "ticket_id": ticket_id,
            },
        )


async def act(
    client: Client, ticket_id: str, request: ActionRequest, idempotency_key: str | None
) -> TicketState:
    """One lifecycle step as the `act` update; raises TicketGone when the workflow has ended."""
    handle = client.get_workflow_handle_for(TicketWorkflow.run, workflow_id(ticket_id))
    try:
        # The key names one step: reused for another action it must not answer for it.
        update_id = f"{request.action}:{idempotency_key}" if idempotency_key else None
        step = handle.execute_update(TicketWorkflow.act, request, id=update_id)
        return await in_time(step, "ticket")
    except WorkflowUpdateFailedError as failure:
        refused(failure, "ticket")
    except RPCError as error:
        if error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise TicketGone(ticket_id) from error
        unavailable(error)
