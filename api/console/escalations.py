"""The escalations queue (issue 15, R16): the open escalations owned by one of this user's
roles first, each with its ticket and an acknowledge button (with a note); then the rest,
newest first. Acknowledging goes through the JSON API's command
(`api/escalation_commands.py` `acknowledge`): who may is the workflow's rule."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query, Request, Response
from sqlmodel import Session

from api import escalation_commands
from api.console.auth import ConsoleUser, Poster
from api.console.pages import ESCALATIONS, console_router, require
from api.console.queues import SHOWN, Queue, decided, show_queue, text_of
from api.deps import ServicesDep
from api.schemas.escalations import AcknowledgeBody
from models.tables import EscalationRecord, User
from store import escalations

router = console_router()
EscalationId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
ACKNOWLEDGED = "acknowledged"


def _escalations(db: Session, user: User, mine: bool) -> list[EscalationRecord]:
    return escalations.escalations(
        db,
        open_=True if mine else None,
        kind=None,
        ticket_id=None,
        owner_role=None,
        owner_roles=user.roles if mine else None,
        limit=SHOWN,
        offset=0,
    )[0]


QUEUE = Queue(ESCALATIONS, "console/escalations.html", _escalations)


@router.get("/escalations")
async def escalations_queue(
    request: Request,
    app: ServicesDep,
    user: ConsoleUser,
    done: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    """The open escalations this user's roles own, then the rest; `done` after one was
    acknowledged."""
    require(user, ESCALATIONS)
    return await show_queue(request, app, user, QUEUE, done=done if done == ACKNOWLEDGED else None)


@router.post("/escalations/{escalation_id}/acknowledge")
async def acknowledge(
    escalation_id: EscalationId, request: Request, app: ServicesDep, user: Poster
) -> Response:
    """Acknowledges from the queue, with the note typed; refused, the queue with the reason."""
    require(user, ESCALATIONS)
    form = await request.form()

    async def command(checked: Any) -> None:
        await escalation_commands.acknowledge(app, escalation_id, user, checked.note)

    body = {"note": text_of(form.get("note"))}
    return await decided(request, app, user, QUEUE, AcknowledgeBody, body, command, ACKNOWLEDGED)
