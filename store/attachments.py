"""A ticket's attachments (issue 14): their records, in upload order, and the check that what
one is about (a repair round, an inspection, a complaint) is the ticket's own, read from the
read model. The bytes are in the file store (store/files.py), put there before the record."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, col, select

from models.attachments import About
from models.refusals import field_refused
from models.tables import AttachmentRecord, ComplaintRecord, RepairRoundRecord, TicketRecord

MAX_ROUND_DIGITS = 6
"""A round's number as a ref: a small integer (a card has at most 20 rounds), never beyond
what the database's integer holds."""


def add(
    session: Session,
    *,
    ticket_id: str,
    about: About,
    ref: str | None,
    filename: str,
    content_type: str,
    size: int,
    key: str,
    note: str | None,
    uploaded_by: str,
) -> AttachmentRecord:
    """Records an attachment whose bytes are in the file store under `key`."""
    record = AttachmentRecord(
        ticket_id=ticket_id,
        about=about.value,
        ref=ref,
        filename=filename,
        content_type=content_type,
        size=size,
        sha256=key,
        note=note,
        uploaded_by=uploaded_by,
        uploaded_at=datetime.now(UTC),
    )
    session.add(record)
    session.commit()
    session.refresh(record)
    return record


def of_ticket(session: Session, ticket_id: str) -> list[AttachmentRecord]:
    """The ticket's attachments, in the order they were uploaded."""
    return list(
        session.exec(
            select(AttachmentRecord)
            .where(col(AttachmentRecord.ticket_id) == ticket_id)
            .order_by(col(AttachmentRecord.id))
        ).all()
    )


def attachment(session: Session, ticket_id: str, attachment_id: int) -> AttachmentRecord | None:
    """One attachment of the ticket; None if the ticket has no such attachment."""
    record = session.get(AttachmentRecord, attachment_id)
    return record if record is not None and record.ticket_id == ticket_id else None


def checked_ref(
    session: Session, ticket: TicketRecord, about: About, ref: str | None
) -> str | None:
    """The `ref` of an attachment about `about` on `ticket`, as recorded (a round's number
    without leading zeros); refused (422 naming `ref`) unless it names what the ticket has:
    a repair round on its repair card, one of its complaints, or, for an inspection without
    a round, the ticket's own contract inspection (R32)."""
    if about == About.TICKET:
        if ref is not None:
            raise field_refused("ref", "an attachment about the ticket itself names no ref")
        return None
    if about == About.COMPLAINT:
        if ref is None or _complaint(session, ticket.id, ref) is None:
            raise field_refused("ref", f"ref must name a complaint about ticket {ticket.number}")
        return ref
    if about == About.INSPECTION and ref is None:
        if ticket.inspection is None:
            raise field_refused(
                "ref",
                "name the repair round whose inspection this is: the ticket has no contract "
                "inspection",
            )
        return None
    digits = ref is not None and ref.isascii() and ref.isdigit() and len(ref) <= MAX_ROUND_DIGITS
    number = int(ref) if digits and ref is not None else None
    if number is None or not _has_round(session, ticket.id, number):
        rounds = ", ".join(str(n) for n in _round_numbers(session, ticket.id)) or "none yet"
        raise field_refused(
            "ref", f"ref must be a repair round of ticket {ticket.number} (its rounds: {rounds})"
        )
    return str(number)


def _complaint(session: Session, ticket_id: str, complaint_id: str) -> ComplaintRecord | None:
    found = session.get(ComplaintRecord, complaint_id)
    return found if found is not None and found.ticket_id == ticket_id else None


def _has_round(session: Session, ticket_id: str, number: int) -> bool:
    return session.get(RepairRoundRecord, (ticket_id, number)) is not None


def _round_numbers(session: Session, ticket_id: str) -> list[int]:
    return list(
        session.exec(
            select(col(RepairRoundRecord.round))
            .where(col(RepairRoundRecord.ticket_id) == ticket_id)
            .order_by(col(RepairRoundRecord.round))
        ).all()
    )
