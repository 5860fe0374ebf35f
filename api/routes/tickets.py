"""Tickets: call-in, lifecycle steps, reads (R3–R11)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Response, status
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from api import survey_commands, ticket_commands
from api.deps import (
    CurrentUser,
    IdempotencyKey,
    Services,
    ServicesDep,
    SessionDep,
    TicketScope,
    require_roles,
)
from api.params import Limit, OfficeInstant, Offset, PersonName, ZoneName, office_instant
from api.schemas.tickets import (
    CallInRequest,
    InternalJobRequest,
    TicketPublic,
    TimelineEntryPublic,
    survey_line,
)
from core.security import status_link
from models.actions import ACTION_BODIES
from models.entitlement import ServiceType
from models.lifecycle import BEFORE_ARRIVAL, Status
from models.refusals import NOT_FOUND, Refused
from models.roles import (
    CALL_IN_ROLES,
    INTERNAL_JOB_ROLES,
    branch_scope,
    branch_scoped,
    shows_survey_link,
)
from models.tables import TicketRecord, User
from models.ticket import TicketState
from models.values import Phone
from models.worktime import local
from store import approvals, sites, surveys, tickets

router = APIRouter(prefix="/tickets", tags=["tickets"])
TicketId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
ActionName = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[a-z_]+$")]


def _missing(ticket_id: str) -> Refused:
    return Refused(NOT_FOUND, f"no ticket '{ticket_id}'")


def _public(db: Session, rows: list[TicketRecord]) -> list[TicketPublic]:
    """The tickets with their escalations (their complaints' too, R16), approvals (R17-R20)
    and survey lines (R22)."""
    ids = [row.id for row in rows]
    escalations = tickets.escalations_of(db, ids)
    asked = approvals.of_tickets(db, ids)
    cards = {card.ticket_id: card for card in surveys.of_tickets(db, ids)}
    now = datetime.now(UTC)
    return [
        TicketPublic.from_record(
            row,
            escalations[row.id],
            survey_line(cards[row.id], now) if row.id in cards else None,
            asked[row.id],
        )
        for row in rows
    ]


async def read_ticket(app: Services, ticket_id: str, scope: str | None = None) -> TicketPublic:
    """The ticket from the read model as `GET /tickets/{id}` shows it (the console's too): with
    what dispatching it needs while it waits for a technician (R33, R34)."""

    def read() -> TicketPublic:
        with app.session() as db:
            row = tickets.visible(db, ticket_id, scope)
            if row is None:
                raise _missing(ticket_id)
            found = _public(db, [row])[0]
            if found.status in BEFORE_ARRIVAL:
                today = local(datetime.now(UTC), app.policy.office_timezone).date()
                site = sites.site_of(db, row.product_serial_no)
                found.dispatch_requirements = sites.requirements(
                    site, app.policy.qualifications.required_for, today
                )
            return found

    return await run_in_threadpool(read)


async def _answer(app: ServicesDep, state: TicketState) -> TicketPublic:
    """The ticket as its workflow answered, with its escalations and its complaints' (R16)."""

    def escalations() -> dict[str, Any]:
        with app.session() as db:
            return tickets.escalations_of(db, [state.ticket_id])

    found = await run_in_threadpool(escalations)
    return TicketPublic.from_state(state, found[state.ticket_id])


async def _register(
    app: ServicesDep,
    request: CallInRequest,
    registered_by: User,
    idempotency_key: str | None,
    service_type: ServiceType = ServiceType.PAID,
) -> TicketPublic:
    try:
        state = await ticket_commands.register(
            app, request, registered_by.username, idempotency_key, service_type
        )
    except ticket_commands.TicketGone as gone:
        return await read_ticket(app, str(gone))
    return await _answer(app, state)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TicketPublic)
async def call_in(
    request: CallInRequest,
    app: ServicesDep,
    clerk: Annotated[User, Depends(require_roles(*CALL_IN_ROLES))],
    idempotency_key: IdempotencyKey = None,
) -> TicketPublic:
    """R3: register a call-in. The same `Idempotency-Key` from the same user always answers
    with the same ticket; send one, and send it again when retrying after a timeout (504) or a
    dropped connection. The service type is decided from the product's records (R2)."""
    return await _register(app, request, clerk, idempotency_key)


@router.post("/internal", status_code=status.HTTP_201_CREATED, response_model=TicketPublic)
async def open_internal_job(
    job: InternalJobRequest,
    app: ServicesDep,
    supervisor: Annotated[User, Depends(require_roles(*INTERNAL_JOB_ROLES))],
    idempotency_key: IdempotencyKey = None,
) -> TicketPublic:
    """R1: an internal job (inspection, parts handling, tool maintenance, training): free,
    with no customer deadlines."""
    internal = ticket_commands.internal_call_in(job)
    return await _register(app, internal, supervisor, idempotency_key, ServiceType.INTERNAL)


@router.get("", response_model=list[TicketPublic])
def list_tickets(
    app: ServicesDep,
    db: SessionDep,
    user: CurrentUser,
    scope: TicketScope,
    response: Response,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    technician: PersonName | None = None,
    service_type: ServiceType | None = None,
    zone: ZoneName | None = None,
    branch: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    escalated: bool | None = None,
    customer_phone: Annotated[Phone | None, Query()] = None,
    customer_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    created_from: OfficeInstant | None = None,
    created_to: OfficeInstant | None = None,
    order: tickets.Order = tickets.Order.NEWEST,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[TicketPublic]:
    """Tickets, newest first; `order=dispatch` puts carried-over tickets first, then the
    oldest (R14: the dispatch list). `created_from` / `created_to` take a date or a time, in
    the office's time zone unless they say otherwise. `X-Total-Count` tells how many match in
    all. A technician sees the tickets assigned to them, now or before; a director or manager
    of a branch (and no office role besides) sees that branch's."""
    if branch_scoped(user.roles):
        branch = branch_scope(user.roles, user.branch, branch)
    rows, total = tickets.tickets(
        db,
        status=status_,
        technician=technician,
        service_type=service_type,
        zone=zone,
        branch=branch,
        escalated=escalated,
        customer_phone=customer_phone,
        customer_id=customer_id,
        created_from=office_instant(created_from, app.policy.office_timezone),
        created_to=office_instant(created_to, app.policy.office_timezone),
        order=order,
        limit=limit,
        offset=offset,
        scope=scope,
    )
    response.headers["X-Total-Count"] = str(total)
    return _public(db, rows)


@router.get("/{ticket_id}", response_model=TicketPublic)
async def get_ticket(
    ticket_id: TicketId, app: ServicesDep, user: CurrentUser, scope: TicketScope
) -> TicketPublic:
    """The ticket; for the roles that give customers their links, the survey's secret `link`
    (api.md) while the card is open, and the customer's `status_link` (issue 14)."""
    found = await read_ticket(app, ticket_id, scope)
    if not shows_survey_link(user.roles):
        return found
    public_url = app.settings.resolved_public_url
    if found.survey is not None:
        found.survey["link"] = await survey_commands.open_link(
            app.temporal, found.id, found.survey["status"], public_url
        )
    found.status_link = status_link(found.id, public_url, app.signing_key)
    return found


@router.get("/{ticket_id}/timeline", response_model=list[TimelineEntryPublic])
def get_timeline(
    ticket_id: TicketId, db: SessionDep, scope: TicketScope
) -> list[TimelineEntryPublic]:
    """R11: every step, oldest first: who, when, what."""
    if tickets.visible(db, ticket_id, scope) is None:
        raise _missing(ticket_id)
    return [TimelineEntryPublic.from_record(row) for row in tickets.timeline(db, ticket_id)]


@router.post(
    "/{ticket_id}/actions/{action}",
    response_model=TicketPublic,
    responses={
        409: {"description": "the ticket's status does not allow the action"},
        422: {"description": "the body is invalid: the field and the rule are named"},
        504: {"description": "no worker took the step in time; retry with the same key"},
    },
)
async def take_action(
    ticket_id: TicketId,
    action: ActionName,
    app: ServicesDep,
    user: CurrentUser,
    body: Annotated[dict[str, Any] | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
) -> TicketPublic:
    """One lifecycle step. A step the ticket's status does not allow answers 409 with
    `allowed_actions` (whatever its body) and changes nothing. Steps that move money
    (`resolve`, `return`, `record_payment`) should carry an `Idempotency-Key`, sent again
    unchanged when retrying after a 504 or a dropped connection: the step is then taken once.
    A `promised_by` without a zone is the office's time."""
    if action not in ACTION_BODIES:
        current = await read_ticket(app, ticket_id)
        raise Refused(NOT_FOUND, f"no action '{action}'", allowed_actions=current.allowed_actions)
    state = await ticket_commands.take_step(
        app, ticket_id, action, user, body or {}, idempotency_key
    )
    return await _answer(app, state)
