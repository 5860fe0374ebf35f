"""What a ticket's documents print (models/documents.py), read from the read model in one
session: the ticket, its steps, the workshop's papers, the invoice and payments, the latest
replied complaint and the photos."""

from __future__ import annotations

from sqlmodel import Session, col, select

from models.attachments import About
from models.documents import Photo, TicketPapers
from models.tables import ComplaintRecord, InvoiceRecord, TicketRecord
from store import attachments, tickets, users, workshop

IMAGE_TYPES = ("image/png", "image/jpeg")
"""What a PDF can print of the attachments. The repair card shows the ticket's, its rounds'
and inspections' photos; a complaint's stay with the complaint (not every reader of the
ticket reads complaints)."""


def papers(session: Session, ticket_id: str) -> TicketPapers | None:
    """The ticket's papers; None for a ticket the read model does not have."""
    ticket = session.get(TicketRecord, ticket_id)
    if ticket is None:
        return None
    invoice = session.exec(
        select(InvoiceRecord).where(col(InvoiceRecord.ticket_id) == ticket_id)
    ).first()
    complaint = session.exec(
        select(ComplaintRecord)
        .where(col(ComplaintRecord.ticket_id) == ticket_id, col(ComplaintRecord.reply).is_not(None))
        .order_by(col(ComplaintRecord.received_at).desc())
    ).first()
    photos = [
        Photo(row.about, row.ref, row.filename, row.sha256, row.content_type)
        for row in attachments.of_ticket(session, ticket_id)
        if row.content_type in IMAGE_TYPES and row.about != About.COMPLAINT
    ]
    timeline = tickets.timeline(session, ticket_id)
    rounds = workshop.repair_rounds(session, ticket_id)
    named = {ticket.technician, *(r.recorded_by for r in rounds), *(r.inspected_by for r in rounds)}
    names = {
        username: users.full_name(session, username) or username
        for username in named
        if username is not None
    }
    return TicketPapers(
        ticket=ticket,
        timeline=timeline,
        receipt=workshop.receipt(session, ticket_id),
        rounds=rounds,
        invoice=invoice,
        payments=workshop.payments(session, ticket_id),
        complaint=complaint,
        photos=photos,
        names=names,
    )
