"""Escalations (R16): every missed or nearly missed promise and every complaint, open until
its owner acknowledges it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from api import escalation_commands
from api.deps import CurrentUser, ServicesDep, SessionDep, reader
from api.params import Limit, Offset
from api.schemas.escalations import AcknowledgeBody, EscalationPublic
from models.escalation import EscalationKind
from models.roles import Reading, Role
from models.tables import User
from store import escalations

router = APIRouter(prefix="/escalations", tags=["escalations"])


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
    rows, total = escalations.escalations(
        db,
        open_=open_,
        kind=kind.value if kind else None,
        ticket_id=ticket_id,
        owner_role=owner_role.value if owner_role else None,
        owner_roles=user.roles if mine else None,
        limit=limit,
        offset=offset,
    )
    response.headers["X-Total-Count"] = str(total)
    return [EscalationPublic.from_record(row) for row in rows]


@router.post("/{escalation_id}/acknowledge", response_model=EscalationPublic)
async def acknowledge(
    escalation_id: Annotated[str, Path(min_length=1, max_length=64)],
    app: ServicesDep,
    user: CurrentUser,
    body: AcknowledgeBody | None = None,
) -> EscalationPublic:
    """Acknowledged by one of its owners (or a director or admin); a second acknowledgement
    changes nothing and answers the first."""
    acknowledged = await escalation_commands.acknowledge(
        app, escalation_id, user, body.note if body else None
    )
    return EscalationPublic.model_validate(acknowledged, from_attributes=True)
