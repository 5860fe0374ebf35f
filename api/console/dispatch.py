"""The dispatch board (R12, R14, R16, R33, R34; issue 15): tickets waiting for a technician —
carried-over ones on top, then first come, first served (`GET /tickets?order=dispatch`) — each
with the working time left to its arrival deadline (amber after the warning, red once
overdue), then those dispatched and not yet arrived; the technicians with their open jobs and
certificates. The board refreshes itself every 15 s (HTMX polls `/console/dispatch/board`);
a ticket is dispatched in one click, and a refusal (safety agreement, qualification) is said
in words on the board."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Form, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from api import ticket_commands
from api.console.auth import ConsoleUser, Poster
from api.console.i18n import language_of, translator
from api.console.pages import (
    DISPATCH,
    Deadline,
    Problem,
    console_router,
    deadline_of,
    render,
    require,
)
from api.console.tickets import step_problem
from api.deps import Services, ServicesDep
from api.errors import status_of
from api.routes.tickets import read_ticket
from models.lifecycle import Action, Status
from models.refusals import Refused
from models.roles import branch_scope, branch_scoped
from models.tables import TicketRecord, User
from models.worktime import local
from store import sites, tickets

router = console_router()
BOARD_SIZE = 50
"""Tickets a column of the board shows: the first in the dispatch order; the column's count
says how many there are in all."""
JOBS_SHOWN = 8
"""Open jobs listed under a technician (the count says how many they have)."""
REFRESH_SECONDS = 15
ORDER = tickets.Order.DISPATCH
"""R14: carried-over tickets first, then first come, first served."""


@dataclass(frozen=True)
class Column:
    """A column of tickets on the board: the first BOARD_SIZE, with their deadlines, and how
    many there are in all."""

    cards: list[tuple[TicketRecord, Deadline | None]]
    total: int


def _board(app: Services, user: User) -> dict[str, Any]:
    """The board as it stands: waiting and dispatched tickets with their deadlines, and the
    technicians with their open jobs."""
    now = datetime.now(UTC)
    branch = branch_scope(user.roles, user.branch, None) if branch_scoped(user.roles) else None
    with app.session() as db:

        def column(status: Status) -> Column:
            rows, total = tickets.tickets(
                db, status=status, branch=branch, order=ORDER, limit=BOARD_SIZE, offset=0
            )
            return Column([(row, deadline_of(app, row, now)) for row in rows], total)

        today = local(now, app.policy.office_timezone).date()
        technicians = sites.technicians(db, None, None, today)
        jobs = tickets.open_job_lines(db, [card.user.username for card in technicians])
        return {
            "active": DISPATCH.key,
            "waiting": column(Status.REGISTERED),
            "dispatched": column(Status.DISPATCHED),
            "technicians": [(card, jobs[card.user.username]) for card in technicians],
            "names": {c.user.username: c.user.full_name or c.user.username for c in technicians},
            "refreshed_at": now,
            "refresh_seconds": REFRESH_SECONDS,
            "jobs_shown": JOBS_SHOWN,
            "today": today,
        }


async def _show(
    request: Request,
    app: Services,
    user: User,
    template: str,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    context = await run_in_threadpool(_board, app, user)
    return render(request, template, context | extra, status_code)


@router.get("/dispatch")
async def board(
    request: Request,
    app: ServicesDep,
    user: ConsoleUser,
    sent: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    require(user, DISPATCH)
    return await _show(request, app, user, "console/dispatch.html", sent=sent)


@router.get("/dispatch/board")
async def board_part(request: Request, app: ServicesDep, user: ConsoleUser) -> Response:
    """The board alone, as HTMX polls it."""
    require(user, DISPATCH)
    return await _show(request, app, user, "console/_board.html")


@router.post("/dispatch/{ticket_id}")
async def dispatch(
    ticket_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")],
    request: Request,
    app: ServicesDep,
    user: Poster,
    technician: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Dispatches the ticket (the JSON API's command); the board again, with what happened."""
    require(user, DISPATCH)
    htmx = bool(request.headers.get("HX-Request"))
    template = "console/_board.html" if htmx else "console/dispatch.html"
    body = {"technician": technician}
    try:
        state = await ticket_commands.take_step(app, ticket_id, Action.DISPATCH, user, body, None)
    except Refused as refused:
        t = translator(language_of(request))
        ticket = await read_ticket(app, ticket_id)
        problem = step_problem(refused, Action.DISPATCH, ticket, t)
        about = Problem(f"{ticket.number}: {problem.headline}", problem.detail, problem.fields)
        return await _show(request, app, user, template, status_of(refused), problem=about)
    if not htmx:
        return RedirectResponse(f"{DISPATCH.href}?sent={state.number}", status_code=303)
    return await _show(request, app, user, template, sent=state.number)
