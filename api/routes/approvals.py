"""Approvals (R17-R20): what tickets wait for, decided by the roles the policy names; the
ticket carries on with the decision."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from api import approval_commands
from api.deps import CurrentUser, ServicesDep, SessionDep, reader
from api.params import Limit, Offset
from api.schemas.approvals import ApprovalPublic, DecisionBody
from models.approvals import ApprovalKind, ApprovalStatus
from models.refusals import NOT_FOUND, Refused
from models.roles import Reading
from models.tables import User
from store import approvals

router = APIRouter(prefix="/approvals", tags=["approvals"])
ApprovalId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Reader = Annotated[User, Depends(reader(Reading.APPROVALS))]


@router.get("", response_model=list[ApprovalPublic])
def list_approvals(
    db: SessionDep,
    user: Reader,
    response: Response,
    status: ApprovalStatus | None = None,
    kind: ApprovalKind | None = None,
    ticket_id: Annotated[str | None, Query(max_length=64)] = None,
    mine: Annotated[
        bool, Query(description="only the pending ones I may decide (not my own requests)")
    ] = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[ApprovalPublic]:
    """Approvals, newest first; `X-Total-Count` tells how many match in all."""
    rows, total = approvals.approvals(
        db,
        status=status.value if status else None,
        kind=kind.value if kind else None,
        ticket_id=ticket_id,
        deciders=(user.username, user.roles) if mine else None,
        limit=limit,
        offset=offset,
    )
    response.headers["X-Total-Count"] = str(total)
    return [ApprovalPublic.from_record(row) for row in rows]


@router.get("/{approval_id}", response_model=ApprovalPublic)
def get_approval(approval_id: ApprovalId, db: SessionDep, _: Reader) -> ApprovalPublic:
    row = approvals.approval(db, approval_id)
    if row is None:
        raise Refused(NOT_FOUND, f"no approval '{approval_id}'")
    return ApprovalPublic.from_record(row)


@router.post(
    "/{approval_id}/decision",
    response_model=ApprovalPublic,
    responses={
        403: {"description": "not a role the approval names, or the requester"},
        409: {"description": "decided already"},
    },
)
async def decide(
    approval_id: ApprovalId, body: DecisionBody, app: ServicesDep, user: CurrentUser
) -> ApprovalPublic:
    """Approve or reject: only the roles the approval names (its band's, and those it went up
    the chain to), never the person who asked for it, once. The ticket carries on with the
    decision (parts issued, the invoice released, a discount granted or refused)."""
    return ApprovalPublic.from_record(
        await approval_commands.decide(app, approval_id, user, body.approve, body.reason)
    )
