"""Escalations (R16): every missed or nearly missed promise and every complaint, open until
its owner acknowledges it."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, NoReturn

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response, status
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session, col, select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import CurrentUser, ServicesDep, SessionDep, reader
from api.params import Limit, Offset
from models.db import page
from models.escalation import (
    ACKNOWLEDGE_UPDATE,
    NOT_AN_OWNER,
    UNKNOWN_ESCALATION,
    AcknowledgeRequest,
    Escalation,
    EscalationKind,
)
from models.roles import Reading, Role
from models.schemas import AcknowledgeBody, EscalationPublic
from models.tables import EscalationRecord, User

router = APIRouter(prefix="/escalations", tags=["escalations"])
ACKNOWLEDGE_TIMEOUT = timedelta(seconds=30)


@router.get("", response_model=list[EscalationPublic])
def list_escalations(
    db: SessionDep,
    user: Annotated[User, Depends(reader(Reading.ESCALATIONS))],
    response: Response,
    open_: Annotated[bool | None, Query(alias="open")] = None,
    kind: EscalationKind | None = None,
    ticket_id: Annotated[str | None, Query(max_length=64)] = None,
    owner_role: Role | None = None,
    mine: Annotated[bool, Query(description="only those owned by one of my roles")] = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[EscalationPublic]:
    """Escalations, newest first; `open=true` lists those not yet acknowledged."""
    query = select(EscalationRecord)
    if open_ is not None:
        acknowledged = col(EscalationRecord.acknowledged_at)
        query = query.where(acknowledged.is_(None) if open_ else acknowledged.is_not(None))
    if kind is not None:
        query = query.where(col(EscalationRecord.kind) == kind.value)
    if ticket_id is not None:
        query = query.where(col(EscalationRecord.ticket_id) == ticket_id)
    if owner_role is not None:
        query = query.where(col(EscalationRecord.owner_role) == owner_role)
    if mine:
        query = query.where(col(EscalationRecord.owner_role).in_(user.roles))
    order = (col(EscalationRecord.raised_at).desc(), col(EscalationRecord.id).desc())
    rows, total = page(db, query, order, limit, offset)
    response.headers["X-Total-Count"] = str(total)
    return [EscalationPublic.from_record(row) for row in rows]


def _find(app: ServicesDep, escalation_id: str) -> EscalationRecord | None:
    with Session(app.engine) as db:
        return db.get(EscalationRecord, escalation_id)


@router.post("/{escalation_id}/acknowledge", response_model=EscalationPublic)
async def acknowledge(
    escalation_id: Annotated[str, Path(min_length=1, max_length=64)],
    app: ServicesDep,
    user: CurrentUser,
    body: AcknowledgeBody | None = None,
) -> EscalationPublic:
    """Acknowledged by one of its owners (or a director or admin); a second acknowledgement
    changes nothing and answers the first."""
    row = await run_in_threadpool(_find, app, escalation_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no escalation '{escalation_id}'")
    note = body.note if body else None
    request = AcknowledgeRequest(escalation_id, user.username, user.roles, note)
    handle = app.temporal.get_workflow_handle(row.workflow_id)
    try:
        escalation = await handle.execute_update(
            ACKNOWLEDGE_UPDATE,
            request,
            result_type=Escalation,
            rpc_timeout=ACKNOWLEDGE_TIMEOUT,
        )
    except WorkflowUpdateFailedError as failure:
        _refused(failure.cause, escalation_id)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"escalation '{escalation_id}' belongs to a workflow that has ended",
            ) from error
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"the workflow service is unavailable: {error.message}",
        ) from error
    return EscalationPublic.model_validate(escalation, from_attributes=True)


def _refused(cause: BaseException | None, escalation_id: str) -> NoReturn:
    if isinstance(cause, ApplicationError):
        if cause.type == NOT_AN_OWNER:
            raise HTTPException(status.HTTP_403_FORBIDDEN, cause.message)
        if cause.type == UNKNOWN_ESCALATION:
            raise HTTPException(status.HTTP_404_NOT_FOUND, cause.message)
    raise HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE, f"escalation '{escalation_id}' was not acknowledged"
    )
