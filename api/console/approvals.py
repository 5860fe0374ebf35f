"""The approvals queue (issue 15, R17-R20): the pending approvals this user may decide first,
each with its ticket, what was asked and why, and approve / reject (a rejection says why);
then the others, newest first. A decision goes through the JSON API's command
(`api/approval_commands.py` `decide`), so who may decide, and only once, is the workflow's
rule, never the console's."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query, Request, Response
from sqlmodel import Session

from api import approval_commands
from api.console.auth import ConsoleUser, Poster
from api.console.pages import APPROVALS, console_router, require
from api.console.queues import SHOWN, Queue, decided, show_queue, text_of
from api.deps import ServicesDep
from api.schemas.approvals import DecisionBody
from models.tables import ApprovalRecord, User
from store import approvals

router = console_router()
ApprovalId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
DECISIONS = {"approve": True, "reject": False}


def _approvals(db: Session, user: User, mine: bool) -> list[ApprovalRecord]:
    deciders = (user.username, list(user.roles)) if mine else None
    return approvals.approvals(
        db, status=None, kind=None, ticket_id=None, deciders=deciders, limit=SHOWN, offset=0
    )[0]


QUEUE = Queue(APPROVALS, "console/approvals.html", _approvals)


@router.get("/approvals")
async def approvals_queue(
    request: Request,
    app: ServicesDep,
    user: ConsoleUser,
    done: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    """The approvals waiting for this user, then the rest; `done` names the decision taken."""
    require(user, APPROVALS)
    return await show_queue(request, app, user, QUEUE, done=done if done in DECISIONS else None)


@router.post("/approvals/{approval_id}/decision")
async def decide(
    approval_id: ApprovalId, request: Request, app: ServicesDep, user: Poster
) -> Response:
    """Approve or reject from the queue; refused, the queue again with the reason in words."""
    require(user, APPROVALS)
    form = await request.form()
    decision = text_of(form.get("decision")) or ""
    body = {"approve": DECISIONS.get(decision, decision), "reason": text_of(form.get("reason"))}

    async def command(checked: Any) -> None:
        await approval_commands.decide(app, approval_id, user, checked.approve, checked.reason)

    return await decided(request, app, user, QUEUE, DecisionBody, body, command, decision)
