"""My jobs (issue 15): a technician's open tickets, made for a phone — whom to visit, where,
by when, and the buttons of the day: arrive (one tap), resolve (the ticket's form, with the
parts and the customer's signature), and for a workshop repair carry in, record repair and
return (the ticket's forms)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Request, Response

from api.console import forms
from api.console.auth import ConsoleUser
from api.console.pages import JOBS, console_router, deadline_of, render, require
from api.deps import ServicesDep, SessionDep
from models.lifecycle import Status, allowed_actions
from models.tables import facts_of
from store import tickets

router = console_router()


@router.get("/jobs")
def my_jobs(request: Request, app: ServicesDep, db: SessionDep, user: ConsoleUser) -> Response:
    require(user, JOBS)
    now = datetime.now(UTC)
    rows = tickets.open_jobs(db, [user.username])[user.username]
    jobs = [
        (
            row,
            deadline_of(app, row, now),
            forms.offered(allowed_actions(Status(row.status), facts_of(row)), user, row.technician),
        )
        for row in rows
    ]
    return render(request, "console/jobs.html", {"active": JOBS.key, "jobs": jobs})
