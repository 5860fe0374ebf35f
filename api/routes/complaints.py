"""Complaints: recorded by staff or from a survey card, triaged, reviewed by the VP when
serious, replied to, visited and closed (R25, R26, A2)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from sqlmodel import Session, col, select

from api import complaint_commands
from api.deps import CurrentUser, IdempotencyKey, ServicesDep, SessionDep, reader, require_roles
from api.params import Limit, Offset, PersonName
from api.workflow_answers import field_errors
from models.complaint import (
    ANY_ROLES,
    RECORDING_ROLES,
    STEP_BODIES,
    ComplaintAction,
    ComplaintCreate,
    ComplaintPublic,
    ComplaintStatus,
    Severity,
)
from models.db import page
from models.followup import ComplaintStart
from models.roles import APPRAISING_ROLES, Reading
from models.tables import ComplaintRecord, EscalationRecord, TicketRecord, User
from models.ticket import Customer, Product

router = APIRouter(prefix="/complaints", tags=["complaints"])
ComplaintsReader = Annotated[User, Depends(reader(Reading.COMPLAINTS))]
ComplaintId = Annotated[str, Path(min_length=1, max_length=32)]


def _escalations(db: Session, rows: list[ComplaintRecord]) -> dict[str, list[EscalationRecord]]:
    """The escalations each complaint raised, by its workflow id, in one query."""
    found: dict[str, list[EscalationRecord]] = {row.workflow_id: [] for row in rows}
    if rows:
        for escalation in db.exec(
            select(EscalationRecord)
            .where(col(EscalationRecord.ticket_id).in_({row.ticket_id for row in rows}))
            .where(col(EscalationRecord.workflow_id).in_(list(found)))
        ).all():
            found[escalation.workflow_id].append(escalation)
    return found


def _public(db: Session, rows: list[ComplaintRecord]) -> list[ComplaintPublic]:
    escalations = _escalations(db, rows)
    return [ComplaintPublic.from_record(row, escalations[row.workflow_id]) for row in rows]


def _row(db: Session, complaint_id: str) -> ComplaintRecord:
    row = db.get(ComplaintRecord, complaint_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no complaint '{complaint_id}'")
    return row


async def _read(
    app: ServicesDep, *, complaint_id: str = "", wid: str = ""
) -> tuple[str, ComplaintPublic]:
    """One complaint from the read model, by its number or by its workflow's id; with the id
    of its workflow."""

    def read() -> tuple[str, ComplaintPublic]:
        with Session(app.engine) as db:
            if complaint_id:
                row = _row(db, complaint_id)
            else:
                found = db.exec(
                    select(ComplaintRecord).where(col(ComplaintRecord.workflow_id) == wid)
                ).first()
                if found is None:
                    raise HTTPException(status.HTTP_404_NOT_FOUND, f"no complaint for '{wid}'")
                row = found
            return row.workflow_id, _public(db, [row])[0]

    return await run_in_threadpool(read)


def _complaint_start(
    db: Session, request: ComplaintCreate, recorder: User, repeat_window_days: int
) -> tuple[ComplaintStart, list[str]]:
    """The complaint as received, from its ticket; and the workflows of the ticket's earlier
    complaints."""
    ticket = db.get(TicketRecord, request.ticket_id)
    if ticket is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            {
                "detail": f"no ticket '{request.ticket_id}'",
                "errors": [
                    {"loc": ["body", "ticket_id"], "msg": "unknown ticket", "type": "not_found"}
                ],
            },
        )
    existing = db.exec(
        select(col(ComplaintRecord.workflow_id)).where(col(ComplaintRecord.ticket_id) == ticket.id)
    ).all()
    start = ComplaintStart(
        ticket_id=ticket.id,
        ticket_number=ticket.number,
        customer=Customer(ticket.customer_name, ticket.customer_phone, ticket.customer_address),
        product=Product(ticket.product_model, ticket.product_serial_no),
        technician=ticket.technician,
        text=request.text,
        received_at=datetime.now(UTC),
        received_via=request.received_via,
        recorded_by=recorder.username,
        repeat_window_days=repeat_window_days,
    )
    return start, list(existing)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ComplaintPublic)
async def record_complaint(
    request: ComplaintCreate,
    app: ServicesDep,
    recorder: Annotated[User, Depends(require_roles(*RECORDING_ROLES))],
    idempotency_key: IdempotencyKey = None,
) -> ComplaintPublic:
    """R26: record a complaint received by phone, letter, email or in person about a ticket.
    It is numbered, flagged when it repeats an earlier one (A2) and escalated to the service
    director for a visit. The same `Idempotency-Key` on the same ticket answers with the same
    complaint."""

    def prepare() -> tuple[ComplaintStart, list[str]]:
        with Session(app.engine) as db:
            window = app.policy.complaints.repeat_window_days
            return _complaint_start(db, request, recorder, window)

    start, existing = await run_in_threadpool(prepare)
    key = f"{recorder.username}\n{idempotency_key}" if idempotency_key is not None else None
    state = await complaint_commands.record(
        app.temporal, app.settings.task_queue, start, request, existing, key
    )
    _, complaint = await _read(app, wid=state.workflow_id)
    return complaint


@router.get("", response_model=list[ComplaintPublic])
def list_complaints(
    db: SessionDep,
    user: ComplaintsReader,
    response: Response,
    status_: Annotated[ComplaintStatus | None, Query(alias="status")] = None,
    severity: Severity | None = None,
    repeated: bool | None = None,
    visited: bool | None = None,
    ticket_id: Annotated[str | None, Query(max_length=64)] = None,
    technician: PersonName | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[ComplaintPublic]:
    """Complaints, newest first; `visited=false` lists the customers still to be visited
    (R26). `X-Total-Count` tells how many match in all. `technician=` is part of the
    appraisal (R24): for the roles that read any technician's."""
    if technician is not None and not APPRAISING_ROLES.intersection(user.roles):
        needed = " or ".join(sorted(APPRAISING_ROLES))
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"complaints by technician are part of the appraisal: they need the role {needed}",
        )
    query = select(ComplaintRecord)
    if status_ is not None:
        query = query.where(col(ComplaintRecord.status) == status_.value)
    if severity is not None:
        query = query.where(col(ComplaintRecord.severity) == severity.value)
    if repeated is not None:
        query = query.where(col(ComplaintRecord.repeated).is_(repeated))
    if visited is not None:
        visit = col(ComplaintRecord.visit)
        query = query.where(visit.is_not(None) if visited else visit.is_(None))
    if ticket_id is not None:
        query = query.where(col(ComplaintRecord.ticket_id) == ticket_id)
    if technician is not None:
        query = query.where(col(ComplaintRecord.technician) == technician)
    order = (col(ComplaintRecord.received_at).desc(), col(ComplaintRecord.id).desc())
    rows, total = page(db, query, order, limit, offset)
    response.headers["X-Total-Count"] = str(total)
    return _public(db, rows)


@router.get("/{complaint_id}", response_model=ComplaintPublic)
def get_complaint(
    complaint_id: ComplaintId, db: SessionDep, _: ComplaintsReader
) -> ComplaintPublic:
    return _public(db, [_row(db, complaint_id)])[0]


def _checked_body(action: str, body: dict[str, Any], current: ComplaintPublic) -> dict[str, Any]:
    """The step's body; a step not possible now is refused with 409 whatever its body."""
    try:
        checked = STEP_BODIES[action].model_validate(body)
    except ValidationError as invalid:
        if action not in current.allowed_actions:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                {
                    "detail": f"'{action}' is not allowed: the complaint is {current.status}",
                    "allowed_actions": current.allowed_actions,
                },
            ) from None
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            {"detail": f"invalid '{action}' request", "errors": field_errors(invalid)},
        ) from None
    return checked.model_dump(mode="json", exclude_unset=True)


@router.post("/{complaint_id}/actions/{action}", response_model=ComplaintPublic)
async def take_action(
    complaint_id: ComplaintId,
    action: Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[a-z_]+$")],
    app: ServicesDep,
    user: CurrentUser,
    body: Annotated[dict[str, Any] | None, Body()] = None,
) -> ComplaintPublic:
    """One step of a complaint: `triage`, `vp_review`, `reply`, `visit`, `close` (R25, R26).
    A step not possible now answers 409 with `allowed_actions` and changes nothing."""
    wid, current = await _read(app, complaint_id=complaint_id)
    if action not in STEP_BODIES:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            {"detail": f"no action '{action}'", "allowed_actions": current.allowed_actions},
        )
    if not ANY_ROLES[action].intersection(user.roles):
        needed = " or ".join(sorted(ANY_ROLES[action]))
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"'{action}' needs the role {needed}")
    data = _checked_body(action, body or {}, current)
    request = ComplaintAction(action=action, actor=user.username, roles=user.roles, data=data)
    try:
        await complaint_commands.act(app.temporal, wid, request)
    except complaint_commands.ComplaintGone:
        _, latest = await _read(app, complaint_id=complaint_id)
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            {
                "detail": f"'{action}' is not allowed: the complaint is {latest.status}",
                "allowed_actions": latest.allowed_actions,
            },
        ) from None
    _, updated = await _read(app, complaint_id=complaint_id)
    return updated
