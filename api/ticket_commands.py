"""Tickets' commands: call-in and lifecycle steps as workflow updates, with the workflow's
refusals translated into HTTP answers."""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import HTTPException, status
from pydantic import ValidationError
from sqlmodel import Session
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.workflow_answers import field_errors, in_time, refused, unavailable
from models.actions import ACTION_BODIES
from models.entitlement import ServiceType
from models.lifecycle import Action, Status, allowed_actions, refusal_message
from models.policy import Policy
from models.roles import Role
from models.schemas import CallInRequest, Channel, CustomerIn, InternalJobRequest, ProductIn
from models.tables import TicketRecord, User
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


def ticket_id_for(user: str, idempotency_key: str | None) -> str:
    """The same key from the same user always names the same ticket (R3); another user's
    identical key names another."""
    if idempotency_key is None:
        return uuid.uuid4().hex
    return uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{user}\n{idempotency_key}").hex


def step_update_id(user: str, action: str, idempotency_key: str | None) -> str | None:
    """The update id of a keyed step: the same user's key names one step, whichever action
    it is reused for."""
    return f"{user}:{action}:{idempotency_key}" if idempotency_key else None


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
    ticket_id = ticket_id_for(clerk, idempotency_key)
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
            max_line_amount=policy.billing.max_line_amount,
            max_ticket_amount=policy.billing.max_ticket_amount,
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
        # The operation keeps the same error for its handle; take it so it is not logged.
        with contextlib.suppress(RPCError, WorkflowAlreadyStartedError):
            await operation.workflow_handle()
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
        update_id = step_update_id(request.actor, request.action, idempotency_key)
        step = handle.execute_update(TicketWorkflow.act, request, id=update_id)
        return await in_time(step, "ticket")
    except WorkflowUpdateFailedError as failure:
        refused(failure, "ticket")
    except RPCError as error:
        if error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise TicketGone(ticket_id) from error
        unavailable(error)


def checked_step(
    db: Session, policy: Policy, ticket_id: str, action: str, body: dict[str, Any]
) -> dict[str, Any]:
    """The step's body as the workflow takes it, or an HTTP refusal: 409 when the ticket's
    status does not allow `action` (the status is told first, whatever the body), else 422
    naming the field and the rule."""
    try:
        data = (
            ACTION_BODIES[action].model_validate(body).model_dump(mode="json", exclude_unset=True)
        )
    except ValidationError as invalid:
        _refuse_status_first(db, ticket_id, action)
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            {"detail": f"invalid '{action}' request", "errors": field_errors(invalid)},
        ) from None
    problem = None
    if action == Action.RECORD_PAYMENT and data["method"] not in policy.billing.payment_methods:
        methods = ", ".join(policy.billing.payment_methods)
        problem = ("method", f"unknown payment method; the policy's methods are: {methods}")
    if action == Action.DISPATCH and not _is_technician(db, data["technician"]):
        problem = ("technician", f"'{data['technician']}' is not an active technician")
    if problem is not None:
        _refuse_status_first(db, ticket_id, action)
        where, why = problem
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            {
                "detail": why,
                "errors": [{"loc": ["body", where], "msg": why, "type": "value_error"}],
            },
        )
    return data


def _is_technician(db: Session, username: str) -> bool:
    user = db.get(User, username)
    return user is not None and user.active and Role.TECHNICIAN in user.roles


def _refuse_status_first(db: Session, ticket_id: str, action: str) -> None:
    """409 with the allowed actions when the ticket is there and its status refuses `action`."""
    row = db.get(TicketRecord, ticket_id)
    if row is None:
        return
    on_hold = row.hold is not None
    allowed = allowed_actions(Status(row.status), on_hold=on_hold)
    if action not in allowed:
        reason = row.hold.get("reason") if row.hold else None
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            {
                "detail": refusal_message(Status(row.status), action, reason),
                "allowed_actions": allowed,
            },
        )
