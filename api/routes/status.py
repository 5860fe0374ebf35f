"""The customer's status link (issue 14): `GET /status/{token}` shows their ticket — an HTML
page for browsers (`Accept: text/html`), JSON otherwise — and its documents as PDF, with no
login: the token (a MAC of the ticket, `core/security.py`) is the customer's key. It works
while the ticket is open and the policy's `status_link_days` after it ends; then 410."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from fastapi.templating import Jinja2Templates

from activities.customer_messages import translations, when
from activities.documents import TITLES
from api.deps import ServicesDep, SessionDep
from api.document_pdfs import filename, language_of, papers_of, pdf_of
from api.errors import ErrorBody
from api.routes.surveys import PAGE_HEADERS, PRIVATE
from api.schemas.status import StatusDocument, StatusStep, TicketStatusPublic
from core.security import ticket_of_status_token
from models.documents import DocumentKind, TicketPapers
from models.messages import Language
from models.refusals import LINK_EXPIRED, NOT_FOUND, Refused
from store import users

router = APIRouter(prefix="/status", tags=["status link"])
TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
Token = Annotated[str, PathParam(min_length=3, max_length=120, pattern=r"^[A-Za-z0-9_.=-]+$")]
UNKNOWN = "no ticket at this link: check that it was copied whole"


def _(text: str) -> str:
    """Marks a label for the catalogue; translated when the page is shown."""
    return text


STATUS_LABELS = {
    "registered": _("Registered: a technician will be sent"),
    "dispatched": _("A technician is on the way"),
    "on_site": _("The technician is with you"),
    "carried_in": _("In our workshop"),
    "repaired": _("Repaired, being inspected"),
    "ready_for_return": _("Ready for return"),
    "resolved": _("Resolved"),
    "closed": _("Closed"),
    "cancelled": _("Cancelled"),
}
STEP_LABELS = {
    "registered": _("Request registered"),
    "dispatched": _("Technician dispatched"),
    "arrive": _("Technician arrived"),
    "resolve": _("Resolved on site"),
    "carry_in": _("Taken to the workshop"),
    "record_repair": _("Repair recorded"),
    "inspect": _("Inspected"),
    "return": _("Returned to you"),
    "promise": _("Resolution time promised"),
    "hold": _("On hold at your request"),
    "resume": _("Resumed"),
    "close": _("Closed"),
    "cancel": _("Cancelled"),
}
STEP_OF_ACTION = {"register": "registered", "dispatch": "dispatched"}
PAGE_LABELS = [
    _("Your repair request"),
    _("Product"),
    _("Technician"),
    _("Technician expected by"),
    _("Promised resolution"),
    _("Product back by"),
    _("What was done"),
    _("Progress"),
    _("Documents"),
    _("Amount due"),
    _("Paid"),
    _("This link works until"),
    _("Link expired"),
    _("This link has expired. Please call us if you need anything about this request."),
    _("Request not found"),
]
"""Every label the page prints, for the catalogue's completeness test."""


def _papers(app: ServicesDep, db: SessionDep, token: str) -> TicketPapers:
    """The papers of the ticket the link is for; 404 for no such link, 410 once expired."""
    ticket_id = ticket_of_status_token(token, app.signing_key)
    if ticket_id is None:
        raise Refused(NOT_FOUND, UNKNOWN)
    try:
        papers = papers_of(db, ticket_id)
    except Refused:
        raise Refused(NOT_FOUND, UNKNOWN) from None
    expires = _expires(app, papers)
    if expires is not None and datetime.now(UTC) >= expires:
        raise Refused(LINK_EXPIRED, f"this status link expired on {expires:%Y-%m-%d}")
    return papers


def _expires(app: ServicesDep, papers: TicketPapers) -> datetime | None:
    ended = papers.ticket.ended_at
    days = app.policy.notifications.status_link_days
    return ended + timedelta(days=days) if ended is not None else None


def _status(
    app: ServicesDep, db: SessionDep, token: str, papers: TicketPapers, language: Language
) -> TicketStatusPublic:
    t = translations(language).gettext
    ticket = papers.ticket
    steps = [
        StatusStep(step="registered", label=t(STEP_LABELS["registered"]), at=ticket.created_at)
    ]
    for entry in papers.timeline:
        step = STEP_OF_ACTION.get(entry.action, entry.action)
        if step in STEP_LABELS and step != "registered":
            steps.append(StatusStep(step=step, label=t(STEP_LABELS[step]), at=entry.at))
    done = papers.last("resolve")
    work = [str(done.data["work_summary"])] if done and "work_summary" in done.data else []
    work += [r.notes for r in papers.rounds]
    return TicketStatusPublic(
        ticket_number=ticket.number,
        status=ticket.status,
        status_label=t(STATUS_LABELS.get(ticket.status, ticket.status)),
        language=language.value,
        product_model=ticket.product_model,
        technician=users.full_name(db, ticket.technician),
        registered_at=ticket.created_at,
        arrival_due_at=ticket.arrival_due_at,
        resolution_promised_by=ticket.resolution_promised_by,
        product_back_by=papers.receipt.promised_by if papers.receipt else None,
        work_done=work,
        currency=app.policy.billing.currency,
        amount_due=ticket.amount_due,
        amount_paid=ticket.amount_paid,
        steps=steps,
        documents=[
            StatusDocument(
                kind=kind,
                label=t(TITLES[kind]),
                url=f"/status/{token}/documents/{kind}.pdf?language={language.value}",
            )
            for kind in papers.available()
        ],
        link_expires_at=_expires(app, papers),
    )


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


@router.get(
    "/{token}",
    response_model=TicketStatusPublic,
    responses={
        200: {"content": {"text/html": {}}},
        404: {"description": "no such link", "model": ErrorBody},
        410: {"description": "the link expired", "model": ErrorBody},
    },
)
def show_status(
    token: Token,
    request: Request,
    app: ServicesDep,
    db: SessionDep,
    language: Language | None = None,
) -> Response:
    """The ticket as its customer follows it, in their language (`language` to choose)."""
    html = _wants_html(request)
    try:
        papers = _papers(app, db, token)
    except Refused as refused:
        if not html:
            raise
        chosen = language or Language.ZH
        page = "expired" if refused.type == LINK_EXPIRED else "unknown"
        code = 410 if page == "expired" else 404
        return _page(request, app, page, None, chosen, code)
    chosen = language_of(db, papers, language)
    found = _status(app, db, token, papers, chosen)
    if html:
        return _page(request, app, "status", found, chosen)
    return JSONResponse(found.model_dump(mode="json"), headers=PRIVATE)


def _page(
    request: Request,
    app: ServicesDep,
    page: str,
    found: TicketStatusPublic | None,
    language: Language,
    status_code: int = 200,
) -> Response:
    return TEMPLATES.TemplateResponse(
        request,
        "status.html",
        {
            "page": page,
            "ticket": found,
            "lang": "zh-Hans" if language is Language.ZH else "en",
            "t": translations(language).gettext,
            "when": lambda instant: when(instant, language, app.policy.office_timezone),
        },
        status_code=status_code,
        headers=PAGE_HEADERS,
    )


@router.get(
    "/{token}/documents/{kind}.pdf",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}},
        404: {"description": "no such link, or the ticket has not made it yet", "model": ErrorBody},
        410: {"description": "the link expired", "model": ErrorBody},
    },
)
def status_document(
    token: Token,
    kind: DocumentKind,
    app: ServicesDep,
    db: SessionDep,
    language: Language | None = None,
) -> Response:
    """One of the ticket's documents, for its customer."""
    papers = _papers(app, db, token)
    pdf = pdf_of(app, papers, kind, language_of(db, papers, language))
    return Response(
        pdf,
        media_type="application/pdf",
        headers=PRIVATE
        | {"Content-Disposition": f'attachment; filename="{filename(papers, kind)}"'},
    )
