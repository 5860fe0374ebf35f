"""A ticket's documents as PDF (issue 14), for staff (`api/routes/documents.py`) and for the
customer's status link: read from the read model, printed in the customer's language."""

from __future__ import annotations

from sqlmodel import Session

from activities.documents import Letterhead, render_pdf
from api.deps import Services
from models.documents import MISSING, DocumentKind, TicketPapers
from models.messages import Language
from models.refusals import NOT_FOUND, Refused
from models.tables import CustomerRecord
from store import documents


def papers_of(db: Session, ticket_id: str) -> TicketPapers:
    found = documents.papers(db, ticket_id)
    if found is None:
        raise Refused(NOT_FOUND, f"no ticket '{ticket_id}'")
    return found


def language_of(db: Session, papers: TicketPapers, asked: Language | None) -> Language:
    """`asked`, else the language on the customer's record, else Simplified Chinese."""
    if asked is not None:
        return asked
    customer_id = papers.ticket.customer_id
    record = db.get(CustomerRecord, customer_id) if customer_id is not None else None
    return Language(record.language) if record is not None else Language.ZH


def pdf_of(app: Services, papers: TicketPapers, kind: DocumentKind, language: Language) -> bytes:
    """The document's PDF; 404 naming why when the ticket has not made it yet."""
    if kind not in papers.available():
        raise Refused(NOT_FOUND, f"ticket {papers.ticket.number}: {MISSING[kind]}")
    letterhead = Letterhead(app.policy.billing.currency, app.policy.office_timezone)
    return render_pdf(kind, papers, language, letterhead, app.files)


def filename(papers: TicketPapers, kind: DocumentKind) -> str:
    return f"{papers.ticket.number}-{kind.value}.pdf"
