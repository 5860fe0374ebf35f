"""The tickets list and the ticket page (issue 15): what the ticket is, how its arrival
deadline stands, the steps this user may take (each with its small form), the timeline,
escalations, invoice and payments, documents, and the workflow in the Temporal Web UI.

Reads come from the read model (`store/`, as the JSON API's); steps go through the JSON API's
command (`api/ticket_commands.py` `take_step`). A refused step shows the ticket again with the
reason in words and the form as it was filled in."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from api import attachment_commands, ticket_commands
from api.console import forms, labels
from api.console.auth import ConsoleUser, Poster
from api.console.i18n import language_of, translator
from api.console.pages import (
    PREFIX,
    TICKETS,
    Problem,
    console_router,
    deadline_of,
    problem_of,
    render,
    require,
    safe_next,
)
from api.deps import Services, ServicesDep, SessionDep, ticket_scope
from api.document_pdfs import papers_of
from api.errors import status_of
from api.routes.documents import may_read, staff_document
from api.routes.tickets import read_ticket
from api.schemas.tickets import TicketPublic
from models.documents import DocumentKind
from models.lifecycle import Action, Status
from models.refusals import CONFLICT, NOT_FOUND, Refused, field_refused
from models.roles import READ_ROLES, Reading, branch_scope, branch_scoped
from models.tables import User
from models.worktime import local
from store import attachments, complaints, parts, sites, surveys, tickets, users, workshop

router = console_router()
TicketId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
PAGE_SIZE = 50
PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{3,29}[0-9]$")
PRICE_LIST_SIZE = 500
STATUSES = [status.value for status in Status]
COMPLAINTS_SHOWN = 20
ADDED = "photo"
"""The ticket page's `done` after a file was attached (`api/console/photos.py`)."""


@router.get("/tickets")
def list_tickets(
    request: Request,
    app: ServicesDep,
    db: SessionDep,
    user: ConsoleUser,
    status: Annotated[str, Query(max_length=32)] = "",
    q: Annotated[str | None, Query(max_length=64)] = None,
    page: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> Response:
    """Tickets, newest first: by status, and by the customer's phone or the ticket's number
    (`q`); a technician's own only, a branch's director or manager their branch's."""
    require(user, TICKETS)
    if status and status not in STATUSES:
        known = ", ".join(STATUSES)
        raise field_refused("status", f"unknown status; the statuses are: {known}", loc="query")
    search = (q or "").strip()
    phone = search if PHONE.match(search) else None
    number = search.upper() if search and phone is None else None
    branch = branch_scope(user.roles, user.branch, None) if branch_scoped(user.roles) else None
    rows, total = tickets.tickets(
        db,
        status=Status(status) if status else None,
        branch=branch,
        customer_phone=phone,
        number=number,
        limit=PAGE_SIZE,
        offset=page * PAGE_SIZE,
        scope=ticket_scope(user),
    )
    now = datetime.now(UTC)
    context = {
        "active": TICKETS.key,
        "rows": [(row, deadline_of(app, row, now)) for row in rows],
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "status": status,
        "q": search,
        "statuses": list(Status),
    }
    return render(request, "console/tickets.html", context)


@router.get("/tickets/{ticket_id}")
async def ticket_page(
    ticket_id: TicketId,
    request: Request,
    app: ServicesDep,
    user: ConsoleUser,
    done: Annotated[str | None, Query(max_length=32)] = None,
    open_form: Annotated[str | None, Query(alias="open", max_length=32)] = None,
) -> Response:
    """The ticket; `done` names the step just taken, `open` the step whose form is open."""
    return await show_ticket(request, app, user, ticket_id, done=done, open_form=open_form)


async def show_ticket(
    request: Request,
    app: Services,
    user: User,
    ticket_id: str,
    *,
    status_code: int = 200,
    problem: Problem | None = None,
    open_form: str | None = None,
    values: dict[str, Any] | None = None,
    done: str | None = None,
) -> Response:
    """The ticket page; after a refused step, with the reason and the form as it was sent."""
    ticket = await read_ticket(app, ticket_id, ticket_scope(user))
    steps = forms.offered(ticket.allowed_actions, user, ticket.technician)
    context = await run_in_threadpool(_ticket_context, app, user, ticket, steps)
    context |= {
        "problem": problem,
        "open_form": open_form if open_form in steps else None,
        "values": values or {},
        "done": done if done in labels.STEPS or done == ADDED else None,
        "idempotency_key": uuid.uuid4().hex,
    }
    return render(request, "console/ticket.html", context, status_code)


def _ticket_context(
    app: Services, user: User, ticket: TicketPublic, steps: list[str]
) -> dict[str, Any]:
    """What the ticket page shows besides the ticket, read in one session."""
    with app.session() as db:
        row = tickets.visible(db, ticket.id)
        if row is None:
            raise Refused(NOT_FOUND, f"no ticket '{ticket.id}'")
        papers = papers_of(db, ticket.id)
        today = local(datetime.now(UTC), app.policy.office_timezone).date()
        reads_payments = bool(READ_ROLES[Reading.PAYMENTS].intersection(user.roles))
        settings = app.settings
        return {
            "active": TICKETS.key,
            "ticket": ticket,
            "deadline": deadline_of(app, row),
            "steps": steps,
            "timeline": tickets.timeline(db, ticket.id),
            "payments": workshop.payments(db, ticket.id) if reads_payments else None,
            "attachments": attachment_commands.visible(attachments.of_ticket(db, ticket.id), user)
            if attachment_commands.may_read(user)
            else None,
            "may_attach": attachment_commands.may_attach(user),
            **_survey_and_complaints(db, user, ticket.id),
            "documents": [kind for kind in papers.available() if may_read(user, kind)],
            "technician_name": users.full_name(db, ticket.technician),
            "technicians": sites.technicians(db, None, None, today)
            if Action.DISPATCH in steps
            else [],
            "price_list": parts.find_parts(
                db, q=None, active=True, in_stock=None, limit=PRICE_LIST_SIZE, offset=0
            )[0]
            if forms.PRICED.intersection(steps)
            else [],
            "payment_methods": app.policy.billing.payment_methods,
            "workflow_url": (
                f"http://127.0.0.1:{settings.temporal_ui_port}/namespaces/"
                f"{settings.temporal_namespace}/workflows/{ticket_commands.workflow_id(ticket.id)}"
            ),
        }


def _survey_and_complaints(db: Session, user: User, ticket_id: str) -> dict[str, Any]:
    """R22-R26: the ticket's survey card with its answer and its complaints, for the roles
    that read complaints (the answer may be one); None for the others."""
    if not attachment_commands.reads_complaints(user):
        return {"survey_card": None, "complaints": None}
    found, _total = complaints.complaints(
        db,
        status=None,
        severity=None,
        repeated=None,
        visited=None,
        ticket_id=ticket_id,
        technician=None,
        limit=COMPLAINTS_SHOWN,
        offset=0,
    )
    return {
        "survey_card": next(iter(surveys.of_tickets(db, [ticket_id])), None),
        "complaints": found,
    }


@router.post("/tickets/{ticket_id}/actions/{action}")
async def post_step(
    ticket_id: TicketId,
    action: Annotated[str, Path(max_length=32, pattern=r"^[a-z_]+$")],
    request: Request,
    app: ServicesDep,
    user: Poster,
) -> Response:
    """One step from its form, through the JSON API's command; then the ticket (or the page
    the form names in `next`), or, refused, the ticket with the reason in words."""
    if action not in forms.STEPS:
        raise Refused(NOT_FOUND, f"the console has no form for '{action}'")
    form = await request.form()
    ticket = await read_ticket(app, ticket_id, ticket_scope(user))
    issued = {str(part["part_no"]) for part in (ticket.work_order or {}).get("parts_issued", [])}

    def prices() -> dict[str, Any]:
        with app.session() as db:
            return parts.list_prices(db, forms.part_numbers(form))

    body = forms.body_of(action, form, await run_in_threadpool(prices), issued)
    try:
        await ticket_commands.take_step(
            app, ticket_id, action, user, body, forms.idempotency_key(form)
        )
    except Refused as refused:
        t = translator(language_of(request))
        kept = {
            name: value
            for name, value in form.multi_items()
            if isinstance(value, str) and name not in ("csrf_token", "customer_signature_image")
        }
        return await show_ticket(
            request,
            app,
            user,
            ticket_id,
            status_code=status_of(refused),
            problem=step_problem(refused, action, ticket, t),
            open_form=action,
            values=kept,
        )
    target = f"{PREFIX}/tickets/{ticket_id}?done={action}"
    next_page = form.get("next")
    return RedirectResponse(
        safe_next(next_page if isinstance(next_page, str) else None, target), status_code=303
    )


def step_problem(refused: Refused, action: str, ticket: TicketPublic, t: Any) -> Problem:
    """A refused step in words: a dispatch the site or the product's category refuses (R33,
    R34) says which, in the user's language; any other by its refusal's type."""
    needs = ticket.dispatch_requirements or {}
    if action == Action.DISPATCH and refused.type == CONFLICT:
        if needs.get("dispatch_blocked"):
            return problem_of(refused, t, t(labels.NEEDS_SAFETY_AGREEMENT))
        if needs.get("certificate_required"):
            category = needs["certificate_required"]
            return problem_of(refused, t, t(labels.NEEDS_CERTIFICATE, category=category))
    return problem_of(refused, t)


@router.get("/tickets/{ticket_id}/documents/{kind}.pdf")
def document(
    ticket_id: TicketId,
    kind: DocumentKind,
    app: ServicesDep,
    db: SessionDep,
    user: ConsoleUser,
) -> Response:
    """The ticket's document as `GET /tickets/{id}/documents/{kind}.pdf` serves it, for the
    console's session."""
    return staff_document(app, db, user, ticket_scope(user), ticket_id, kind, None)
