"""Tickets: call-in, lifecycle steps, reads (R3–R11)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import AwareDatetime, ValidationError
from sqlmodel import Session

from api import survey_reads, ticket_commands, ticket_reads
from api.deps import CurrentUser, IdempotencyKey, ServicesDep, SessionDep, require_roles
from models.actions import ACTION_BODIES
from models.entitlement import ServiceType
from models.lifecycle import Action, Status
from models.roles import CALL_IN_ROLES, INTERNAL_JOB_ROLES, Role, missing_role
from models.schemas import (
    CallInRequest,
    InternalJobRequest,
    TicketPublic,
    TimelineEntryPublic,
)
from models.tables import User
from models.ticket import ActionRequest

router = APIRouter(prefix="/tickets", tags=["tickets"])


async def _read(app: ServicesDep, ticket_id: str) -> TicketPublic:
    def read() -> TicketPublic | None:
        with Session(app.engine) as db:
            return ticket_reads.ticket(db, ticket_id)

    found = await run_in_threadpool(read)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no ticket '{ticket_id}'")
    return found


async def _register(
    app: ServicesDep,
    request: CallInRequest,
    registered_by: User,
    idempotency_key: str | None,
    service_type: ServiceType = ServiceType.PAID,
) -> TicketPublic:
    try:
        state = await ticket_commands.call_in(
            app.temporal,
            app.settings.task_queue,
            app.policy,
            request,
            registered_by.username,
            idempotency_key,
            service_type,
        )
    except ticket_commands.TicketGone as gone:
        return await _read(app, str(gone))
    return TicketPublic.from_state(state)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TicketPublic)
async def call_in(
    request: CallInRequest,
    app: ServicesDep,
    clerk: Annotated[User, Depends(require_roles(*CALL_IN_ROLES))],
    idempotency_key: IdempotencyKey = None,
) -> TicketPublic:
    """R3: register a call-in. The same `Idempotency-Key` always answers with the same ticket;
    the service type is decided from the product's records (R2)."""
    return await _register(app, request, clerk, idempotency_key)


@router.post("/internal", status_code=status.HTTP_201_CREATED, response_model=TicketPublic)
async def open_internal_job(
    job: InternalJobRequest,
    app: ServicesDep,
    supervisor: Annotated[User, Depends(require_roles(*INTERNAL_JOB_ROLES))],
    idempotency_key: IdempotencyKey = None,
) -> TicketPublic:
    """R1: an internal job (inspection, parts handling, tool maintenance, training): free."""
    internal = ticket_commands.internal_call_in(job)
    return await _register(app, internal, supervisor, idempotency_key, ServiceType.INTERNAL)


@router.get("", response_model=list[TicketPublic])
def list_tickets(
    app: ServicesDep,
    db: SessionDep,
    user: CurrentUser,
    response: Response,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    technician: str | None = None,
    service_type: ServiceType | None = None,
    zone: str | None = None,
    escalated: bool | None = None,
    customer_phone: str | None = None,
    created_from: AwareDatetime | None = None,
    created_to: AwareDatetime | None = None,
    order: ticket_reads.Order = ticket_reads.Order.NEWEST,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[TicketPublic]:
    """Tickets, newest first; `order=dispatch` puts carried-over tickets first, then the
    oldest (R14: the dispatch list). `X-Total-Count` tells how many match in all."""
    page, total = ticket_reads.tickets(
        db,
        status=status_,
        technician=technician,
        service_type=service_type,
        zone=zone,
        escalated=escalated,
        customer_phone=customer_phone,
        created_from=created_from,
        created_to=created_to,
        order=order,
        limit=limit,
        offset=offset,
    )
    response.headers["X-Total-Count"] = str(total)
    return _with_surveys(app, db, user, page)


@router.get("/{ticket_id}", response_model=TicketPublic)
def get_ticket(ticket_id: str, app: ServicesDep, db: SessionDep, user: CurrentUser) -> TicketPublic:
    found = ticket_reads.ticket(db, ticket_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no ticket '{ticket_id}'")
    return _with_surveys(app, db, user, [found])[0]


def _with_surveys(
    app: ServicesDep, db: Session, user: User, tickets: list[TicketPublic]
) -> list[TicketPublic]:
    """R22: each ticket's survey card; its secret link only for the roles that resend it."""
    surveys = survey_reads.survey_summaries(
        db,
        [t.id for t in tickets],
        survey_reads.shows_link(user.roles),
        app.settings.resolved_public_url,
    )
    for ticket in tickets:
        ticket.survey = surveys.get(ticket.id)
    return tickets


@router.get("/{ticket_id}/timeline", response_model=list[TimelineEntryPublic])
def get_timeline(ticket_id: str, db: SessionDep, _: CurrentUser) -> list[TimelineEntryPublic]:
    """R11: every step, oldest first: who, when, what."""
    if ticket_reads.ticket(db, ticket_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no ticket '{ticket_id}'")
    return ticket_reads.timeline(db, ticket_id)


def _checked_body(action: str, body: dict[str, Any]) -> dict[str, Any]:
    try:
        return (
            ACTION_BODIES[action].model_validate(body).model_dump(mode="json", exclude_unset=True)
        )
    except ValidationError as invalid:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            {
                "detail": f"invalid '{action}' request",
                "errors": invalid.errors(include_url=False, include_context=False),
            },
        ) from None


def _technician_exists(app: ServicesDep, username: str) -> bool:
    with Session(app.engine) as db:
        user = db.get(User, username)
    return user is not None and user.active and Role.TECHNICIAN in user.roles


@router.post("/{ticket_id}/actions/{action}", response_model=TicketPublic)
async def take_action(
    ticket_id: str,
    action: str,
    app: ServicesDep,
    user: CurrentUser,
    body: Annotated[dict[str, Any] | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
) -> TicketPublic:
    """One lifecycle step. Refused steps answer 409 with `allowed_actions` and change nothing."""
    if action not in ACTION_BODIES:
        current = await _read(app, ticket_id)
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            {"detail": f"no action '{action}'", "allowed_actions": current.allowed_actions},
        )
    if why := missing_role(action, user.roles):
        raise HTTPException(status.HTTP_403_FORBIDDEN, why)
    data = _checked_body(action, body or {})
    if action == Action.DISPATCH and not await run_in_threadpool(
        _technician_exists, app, data["technician"]
    ):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"'{data['technician']}' is not an active technician",
        )
    request = ActionRequest(action=action, actor=user.username, roles=user.roles, data=data)
    try:
        state = await ticket_commands.act(app.temporal, ticket_id, request, idempotency_key)
    except ticket_commands.TicketGone:
        latest = await _read(app, ticket_id)
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            {
                "detail": f"action '{action}' is not allowed while the ticket is '{latest.status}'",
                "allowed_actions": latest.allowed_actions,
            },
        ) from None
    return TicketPublic.from_state(state)
