"""Complaints: recorded by staff or from a survey card, triaged, reviewed by the VP when
serious, replied to, visited and closed (R25, R26, A2)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from sqlmodel import Session

from api import complaint_commands
from api.deps import CurrentUser, IdempotencyKey, ServicesDep, SessionDep, reader, require_roles
from api.params import Limit, Offset, PersonName
from api.schemas.complaints import ComplaintCreate, ComplaintPublic
from api.workflow_answers import field_errors
from models.complaint import (
    ANY_ROLES,
    RECORDING_ROLES,
    STEP_BODIES,
    ComplaintAction,
    ComplaintStatus,
    Severity,
)
from models.followup import ComplaintStart
from models.refusals import FORBIDDEN, INVALID_PAYLOAD, INVALID_TRANSITION, NOT_FOUND, Refused
from models.roles import APPRAISING_ROLES, Reading
from models.tables import ComplaintRecord, User
from store import complaints

router = APIRouter(prefix="/complaints", tags=["complaints"])
ComplaintsReader = Annotated[User, Depends(reader(Reading.COMPLAINTS))]
ComplaintId = Annotated[str, Path(min_length=1, max_length=32)]


def _public(db: Session, rows: list[ComplaintRecord]) -> list[ComplaintPublic]:
    escalations = complaints.escalations_of(db, rows)
    return [ComplaintPublic.from_record(row, escalations[row.workflow_id]) for row in rows]


async def _read(
    app: ServicesDep, *, complaint_id: str = "", wid: str = ""
) -> tuple[str, ComplaintPublic]:
    """One complaint from the read model, by its number or by its workflow's id; with the id
    of its workflow."""

    def read() -> tuple[str, ComplaintPublic]:
        with app.session() as db:
            if complaint_id:
                row = complaints.complaint(db, complaint_id)
            else:
                row = complaints.complaint_of_workflow(db, wid)
            return row.workflow_id, _public(db, [row])[0]

    return await run_in_threadpool(read)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ComplaintPublic)
async def record_complaint(
    request: ComplaintCreate,
    app: ServicesDep,
    recorder: Annotated[User, Depends(require_roles(*RECORDING_ROLES))],
    idempotency_key: IdempotencyKey = None,
) -> ComplaintPublic:
    """R26: record a complaint received by phone, letter, email or in person about a ticket.
    It is numbered, flagged when it repeats an earlier one (A2) and escalated to the service
    director for a visit. The same `Idempotency-Key` from the same user on the same ticket
    answers with the same complaint."""

    def prepare() -> tuple[ComplaintStart, list[str]]:
        with app.session() as db:
            return complaint_commands.complaint_start(db, request, recorder.username, app.policy)

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
        raise Refused(
            FORBIDDEN,
            f"complaints by technician are part of the appraisal: they need the role {needed}",
        )
    rows, total = complaints.complaints(
        db,
        status=status_.value if status_ else None,
        severity=severity.value if severity else None,
        repeated=repeated,
        visited=visited,
        ticket_id=ticket_id,
        technician=technician,
        limit=limit,
        offset=offset,
    )
    response.headers["X-Total-Count"] = str(total)
    return _public(db, rows)


@router.get("/{complaint_id}", response_model=ComplaintPublic)
def get_complaint(
    complaint_id: ComplaintId, db: SessionDep, _: ComplaintsReader
) -> ComplaintPublic:
    return _public(db, [complaints.complaint(db, complaint_id)])[0]


def _checked_body(action: str, body: dict[str, Any], current: ComplaintPublic) -> dict[str, Any]:
    """The step's body; a step not possible now is refused as such whatever its body."""
    try:
        checked = STEP_BODIES[action].model_validate(body)
    except ValidationError as invalid:
        if action not in current.allowed_actions:
            raise _not_now(action, current) from None
        raise Refused(
            INVALID_PAYLOAD, f"invalid '{action}' request", errors=field_errors(invalid)
        ) from None
    return checked.model_dump(mode="json", exclude_unset=True)


def _not_now(action: str, current: ComplaintPublic) -> Refused:
    return Refused(
        INVALID_TRANSITION,
        f"'{action}' is not allowed: the complaint is {current.status}",
        allowed_actions=current.allowed_actions,
    )


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
        raise Refused(NOT_FOUND, f"no action '{action}'", allowed_actions=current.allowed_actions)
    if not ANY_ROLES[action].intersection(user.roles):
        needed = " or ".join(sorted(ANY_ROLES[action]))
        raise Refused(FORBIDDEN, f"'{action}' needs the role {needed}")
    data = _checked_body(action, body or {}, current)
    request = ComplaintAction(action=action, actor=user.username, roles=user.roles, data=data)
    try:
        await complaint_commands.act(app.temporal, wid, request)
    except complaint_commands.ComplaintGone:
        _, latest = await _read(app, complaint_id=complaint_id)
        raise _not_now(action, latest) from None
    _, updated = await _read(app, complaint_id=complaint_id)
    return updated
