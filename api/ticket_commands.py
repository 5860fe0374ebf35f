"""Tickets' commands: call-in and lifecycle steps as workflow updates, with the workflow's
refusals translated into HTTP answers."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, NoReturn

from fastapi import HTTPException, status
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

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
from workflows import ticket as ticket_workflow
from workflows.ticket import TicketWorkflow

# How long a request waits for a worker to take its step before answering 504.
STEP_TIMEOUT_SECONDS = 30
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


def _refused(failure: WorkflowUpdateFailedError) -> NoReturn:
    cause = failure.cause
    if not isinstance(cause, ApplicationError):
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the ticket could not be updated")
    details: dict[str, Any] = cause.details[0] if cause.details else {}
    match cause.type:
        case ticket_workflow.INVALID_TRANSITION:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                {"detail": cause.message, "allowed_actions": details.get("allowed_actions", [])},
            )
        case ticket_workflow.FORBIDDEN:
            raise HTTPException(status.HTTP_403_FORBIDDEN, cause.message)
        case ticket_workflow.INVALID_PAYLOAD | ticket_workflow.IDEMPOTENCY_KEY_REUSED:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, {"detail": cause.message, **details}
            )
    raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, cause.message)


def _unavailable(error: RPCError) -> NoReturn:
    raise HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE, f"the workflow service is unavailable: {error.message}"
    ) from error


async def _in_time(step: Awaitable[TicketState]) -> TicketState:
    try:
        return await asyncio.wait_for(step, STEP_TIMEOUT_SECONDS)
    except TimeoutError:
        raise HTTPException(
            status.HTTP_504_GATEWAY_TIMEOUT,
            "no worker took the step in time; it may still be applied: check the ticket",
        ) from None


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
        return await _in_time(
            client.execute_update_with_start_workflow(
                TicketWorkflow.register,
                RegisterRequest(start.fingerprint),
                start_workflow_operation=operation,
            )
        )
    except WorkflowUpdateFailedError as failure:
        _refused(failure)
    except WorkflowAlreadyStartedError:
        # The operation keeps the same error for its handle; take it so it is not logged.
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await operation.workflow_handle()
        await _check_ended_ticket(client, ticket_id, start.fingerprint)
    except RPCError as error:
        if error.status != RPCStatusCode.ALREADY_EXISTS:
            _unavailable(error)
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
        return await _in_time(handle.execute_update(TicketWorkflow.act, request, id=update_id))
    except WorkflowUpdateFailedError as failure:
        _refused(failure)
    except RPCError as error:
        if error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise TicketGone(ticket_id) from error
        _unavailable(error)
