"""A ticket's documents as PDF (issue 14): voucher (R5), receipt (R7), repair card (R8),
invoice (R21), complaint reply (R25)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from sqlmodel import Session

from api.deps import CurrentUser, Services, ServicesDep, SessionDep, TicketScope
from api.document_pdfs import filename, language_of, papers_of, pdf_of
from api.schemas.documents import DocumentLink
from models.documents import DocumentKind, read_as
from models.messages import Language
from models.refusals import FORBIDDEN, NOT_FOUND, Refused
from models.roles import READ_ROLES
from models.tables import User
from store import tickets

router = APIRouter(prefix="/tickets", tags=["documents"])
TicketId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
PDF = "application/pdf"


def may_read(user: User, kind: DocumentKind) -> bool:
    """Whether `user`'s roles read documents of `kind` (docs/security.md)."""
    return bool(READ_ROLES[read_as(kind)].intersection(user.roles))


def _visible(db: Session, ticket_id: str, scope: str | None) -> None:
    if tickets.visible(db, ticket_id, scope) is None:
        raise Refused(NOT_FOUND, f"no ticket '{ticket_id}'")


@router.get("/{ticket_id}/documents", response_model=list[DocumentLink])
def list_documents(
    ticket_id: TicketId, db: SessionDep, user: CurrentUser, scope: TicketScope
) -> list[DocumentLink]:
    """The documents the ticket's steps have made so far that this user may read."""
    _visible(db, ticket_id, scope)
    papers = papers_of(db, ticket_id)
    return [
        DocumentLink.of(ticket_id, kind, filename(papers, kind))
        for kind in papers.available()
        if may_read(user, kind)
    ]


@router.get(
    "/{ticket_id}/documents/{kind}.pdf",
    response_class=Response,
    responses={200: {"content": {PDF: {}}, "description": "The document as PDF."}},
)
def get_document(
    ticket_id: TicketId,
    kind: DocumentKind,
    app: ServicesDep,
    db: SessionDep,
    user: CurrentUser,
    scope: TicketScope,
    language: Language | None = None,
) -> Response:
    """The document, in `language` (default: the customer's). The invoice for the roles
    that read invoices, the complaint reply for those that read complaints; 404 naming why
    when the ticket has not made it yet."""
    return staff_document(app, db, user, scope, ticket_id, kind, language)


def staff_document(
    app: Services,
    db: Session,
    user: User,
    scope: str | None,
    ticket_id: str,
    kind: DocumentKind,
    language: Language | None,
) -> Response:
    """A ticket's document as PDF for a member of staff (this route and the console's)."""
    if not may_read(user, kind):
        raise Refused(FORBIDDEN, f"your roles do not read the {kind.value.replace('_', ' ')}")
    _visible(db, ticket_id, scope)
    papers = papers_of(db, ticket_id)
    pdf = pdf_of(app, papers, kind, language_of(db, papers, language))
    return Response(
        pdf,
        media_type=PDF,
        headers={"Content-Disposition": f'inline; filename="{filename(papers, kind)}"'},
    )
