"""Tickets' commands: call-in and lifecycle steps as workflow updates, and the business checks
a step needs before it is sent (does this technician exist? is this payment method the
policy's?). Refusals are raised as `Refused` (models/refusals.py); routes turn them into HTTP
answers through one table (api/errors.py)."""

from __future__ import annotations

import binascii
import contextlib
import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.concurrency import run_in_threadpool
from pydantic import TypeAdapter, ValidationError
from sqlmodel import Session
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import Services
from api.schemas.tickets import CallInRequest, CustomerIn, InternalJobRequest, ProductIn
from api.workflow_answers import field_errors, in_time, refused, unavailable
from models.actions import ACTION_BODIES, SIGNED_ACTIONS, ZONED_FIELDS
from models.entitlement import ServiceType
from models.lifecycle import Action, Status, allowed_actions, refusal_message
from models.policy import (
    Policy,
    approval_terms,
    billing_terms,
    notify_terms,
    service_clock,
    survey_terms,
)
from models.refusals import (
    CONFLICT,
    FORBIDDEN,
    IDEMPOTENCY_KEY_REUSED,
    INVALID_PAYLOAD,
    INVALID_TRANSITION,
    NOT_FOUND,
    Refused,
    field_refused,
)
from models.roles import missing_role
from models.tables import TicketRecord, User, facts_of
from models.ticket import (
    NO_CUSTOMER_PHONE,
    ActionRequest,
    CallIn,
    Channel,
    Customer,
    Product,
    RegisterRequest,
    TicketStart,
    TicketState,
)
from models.values import SIGNATURE_MAX_BYTES, PngDataUrl, png_of
from models.worktime import local
from store import catalog, sites, tickets, users
from store.files import FileStore, key_of
from workflows.ticket import TicketWorkflow

IDEMPOTENCY_NAMESPACE = uuid.UUID("5f0d7e0c-6a44-4f5e-9b7e-0d8f6f1f3a11")


class TicketGone(Exception):
    """The ticket's workflow has ended (closed or cancelled): its read model has the rest."""


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
        customer=CustomerIn(name=f"internal: {job.category}", phone=NO_CUSTOMER_PHONE, address="-"),
        zone=job.zone,
        product=ProductIn(model=str(job.category)),
        problem=job.description,
        channel=Channel.INTERNAL,
    )


async def call_in(
    client: Client,
    task_queue: str,
    policy: Policy,
    request: CallInRequest,
    clerk: str,
    idempotency_key: str | None,
    service_type: ServiceType = ServiceType.PAID,
    contract_hours: float | None = None,
) -> TicketState:
    """R3: start the ticket's workflow and wait for its registration, at most once per key.
    The service type is decided at registration (R2) unless the job is internal (R1); a
    contract's own arrival hours replace the zone's (R13). Raises TicketGone when the key's
    ticket has ended already (it is still that ticket)."""
    if request.zone not in policy.zones:
        known = ", ".join(sorted(policy.zones))
        raise field_refused(
            "zone", f"unknown zone '{request.zone}'; the policy's zones are: {known}"
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
        terms=billing_terms(policy),
        fingerprint=fingerprint(request),
        service_type=service_type.value,
        clock=service_clock(policy, request.zone, datetime.now(UTC), contract_hours),
        survey=survey_terms(policy),
        approval_terms=approval_terms(policy),
        branch=policy.zones[request.zone].branch,
        notify=notify_terms(policy),
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
        with contextlib.suppress(RPCError, WorkflowAlreadyStartedError):
            await operation.workflow_handle()
        if error.status != RPCStatusCode.ALREADY_EXISTS:
            unavailable(error)
        await _check_ended_ticket(client, ticket_id, start.fingerprint)
    raise TicketGone(ticket_id)


async def register(
    app: Services,
    request: CallInRequest,
    registered_by: str,
    idempotency_key: str | None,
    service_type: ServiceType = ServiceType.PAID,
) -> TicketState:
    """`call_in` as a person asks for it (the JSON API, the console): the arrival hours of
    the product's contract, if it sets its own (R13), then the call-in. Raises TicketGone
    when the key's ticket has ended already."""

    def contract_hours() -> float | None:
        today = local(datetime.now(UTC), app.policy.office_timezone).date()
        with app.session() as db:
            return catalog.contract_arrival_hours(db, request.product.serial_no, today)

    internal = service_type == ServiceType.INTERNAL
    hours = None if internal else await run_in_threadpool(contract_hours)
    return await call_in(
        app.temporal,
        app.settings.task_queue,
        app.policy,
        request,
        registered_by,
        idempotency_key,
        service_type,
        contract_hours=hours,
    )


async def _check_ended_ticket(client: Client, ticket_id: str, call_fingerprint: str) -> None:
    """The key's ticket has ended (closed or cancelled): it is still that ticket, unless the
    key now comes with a different call."""
    handle = client.get_workflow_handle_for(TicketWorkflow.run, workflow_id(ticket_id))
    ended = await handle.query(TicketWorkflow.state_query)
    if ended.fingerprint != call_fingerprint:
        raise Refused(
            IDEMPOTENCY_KEY_REUSED,
            "this Idempotency-Key was already used for a different call-in",
            ticket_id=ticket_id,
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


async def take_step(
    app: Services,
    ticket_id: str,
    action: str,
    user: User,
    body: dict[str, Any],
    idempotency_key: str | None,
) -> TicketState:
    """One lifecycle step as a person takes it (the JSON API, the console): their roles
    (FORBIDDEN), the signature pad's image stored, the body and the business checks
    (`checked_step`), then the workflow's update; a ticket whose workflow has ended refuses
    as its status says."""
    if why := missing_role(action, user.roles):
        raise Refused(FORBIDDEN, why)

    def check() -> dict[str, Any]:
        with app.session() as db:
            try:
                signed = with_signature_image(app.files, action, body)
            except Refused:
                # The status refuses first, whatever the body (a signature's field included).
                _refuse_status_first(db, ticket_id, action)
                raise
            return checked_step(db, app.policy, ticket_id, action, signed)

    data = await run_in_threadpool(check)
    request = ActionRequest(action=action, actor=user.username, roles=user.roles, data=data)
    try:
        return await act(app.temporal, ticket_id, request, idempotency_key)
    except TicketGone:

        def refusal() -> Refused:
            with app.session() as db:
                return ended_refusal(db, ticket_id, action)

        raise await run_in_threadpool(refusal) from None


def checked_step(
    db: Session, policy: Policy, ticket_id: str, action: str, body: dict[str, Any]
) -> dict[str, Any]:
    """The step's body as the workflow takes it, or its refusal: the ticket's status first
    (INVALID_TRANSITION, whatever the body), then the body (INVALID_PAYLOAD naming the field
    and the rule). A time typed without a zone is the office's (docs/architecture.md)."""
    body = _in_office_time(body, policy.office_timezone)
    try:
        data = (
            ACTION_BODIES[action].model_validate(body).model_dump(mode="json", exclude_unset=True)
        )
    except ValidationError as invalid:
        _refuse_status_first(db, ticket_id, action)
        raise Refused(
            INVALID_PAYLOAD, f"invalid '{action}' request", errors=field_errors(invalid)
        ) from None
    problem = None
    paying = action in (Action.RECORD_PAYMENT, Action.TAKE_DEPOSIT)
    if paying and data["method"] not in policy.billing.payment_methods:
        methods = ", ".join(policy.billing.payment_methods)
        problem = field_refused(
            "method", f"unknown payment method; the policy's methods are: {methods}"
        )
    if action == Action.DISPATCH and not users.is_technician(db, data["technician"]):
        problem = field_refused("technician", f"'{data['technician']}' is not an active technician")
    if problem is not None:
        _refuse_status_first(db, ticket_id, action)
        raise problem
    if action == Action.DISPATCH:
        _check_dispatch_gates(db, policy, ticket_id, data["technician"])
    return data


def _check_dispatch_gates(db: Session, policy: Policy, ticket_id: str, to: str) -> None:
    """R33, R34: a site needing a safety agreement and a category needing a certificate are
    refused (409, saying what is missing) while the ticket's status would allow the step."""
    row = tickets.visible(db, ticket_id)
    if row is None:
        return
    today = local(datetime.now(UTC), policy.office_timezone).date()
    why = sites.dispatch_refusal(
        db, row.product_serial_no, to, policy.qualifications.required_for, today
    )
    if why is not None:
        _refuse_status_first(db, ticket_id, Action.DISPATCH)
        raise Refused(CONFLICT, why)


def _in_office_time(body: dict[str, Any], timezone: str) -> dict[str, Any]:
    """`body` with each time of ZONED_FIELDS given without a zone read in `timezone`."""
    zoned = dict(body)
    for name in ZONED_FIELDS:
        value = zoned.get(name)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                moment = datetime.fromisoformat(value)
                if moment.tzinfo is None:
                    zoned[name] = moment.replace(tzinfo=ZoneInfo(timezone)).isoformat()
    return zoned


def _refuse_status_first(db: Session, ticket_id: str, action: str) -> None:
    """Refuses `action` when the ticket is there and its status does not allow it."""
    row = tickets.visible(db, ticket_id)
    if row is not None:
        refusal = status_refusal(row, action)
        if refusal is not None:
            raise refusal


def status_refusal(row: TicketRecord, action: str) -> Refused | None:
    """The refusal of `action` on the ticket of `row` as its status and facts stand, or None
    if it is allowed."""
    status, facts = Status(row.status), facts_of(row)
    allowed = allowed_actions(status, facts)
    if action in allowed:
        return None
    reason = row.hold.get("reason") if row.hold else None
    return Refused(
        INVALID_TRANSITION,
        refusal_message(status, action, facts, reason),
        allowed_actions=allowed,
    )


def ended_refusal(db: Session, ticket_id: str, action: str) -> Refused:
    """A step sent to a ticket whose workflow has ended, refused as its status says."""
    row = tickets.visible(db, ticket_id)
    if row is None:
        return Refused(NOT_FOUND, f"no ticket '{ticket_id}'")
    refusal = status_refusal(row, action)
    return refusal or Refused(
        INVALID_TRANSITION,
        f"action '{action}' is not allowed while the ticket is '{row.status}'",
        allowed_actions=[],
    )


SIGNATURE_IMAGE = "customer_signature_image"


def with_signature_image(files: FileStore, action: str, body: dict[str, Any]) -> dict[str, Any]:
    """The body with the signature pad's image (`customer_signature_image`, a PNG data URL)
    stored and named by its key (`signature_image`), as the workflow takes it. A key sent by
    the client is refused: the image is always the one this request carries."""
    if "signature_image" in body:
        raise field_refused(
            "signature_image", f"send the image itself as '{SIGNATURE_IMAGE}' (a PNG data URL)"
        )
    if SIGNATURE_IMAGE not in body:
        return body
    if action not in SIGNED_ACTIONS:
        raise field_refused(SIGNATURE_IMAGE, f"'{action}' is not a step the customer signs")
    body = dict(body)
    try:
        png = png_of(_PNG_URL.validate_python(body.pop(SIGNATURE_IMAGE)))
    except (ValidationError, ValueError, binascii.Error):
        raise field_refused(
            SIGNATURE_IMAGE,
            f"must be a PNG image as a data URL (data:image/png;base64,...) of at most "
            f"{SIGNATURE_MAX_BYTES // 1024} KiB",
        ) from None
    key = key_of(png)
    files.put(key, png, "image/png")
    return body | {"signature_image": key}


_PNG_URL: TypeAdapter[str] = TypeAdapter(PngDataUrl)
