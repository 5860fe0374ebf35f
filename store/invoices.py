"""Invoices (R6, R9, R21): exactly one per chargeable job, numbered without gaps per year.

The number is taken from the year's counter in the same transaction that stores the invoice,
and the invoice is unique per ticket: a retried activity, or one whose worker died mid-call,
finds the invoice already there and returns it, and a rolled-back attempt leaves no gap.
"""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models.tables import InvoiceRecord
from models.ticket import Invoice, InvoiceRequest
from models.worktime import local
from store.sql import next_value, page


def _existing(engine: Engine, ticket_id: str) -> Invoice | None:
    with engine.connect() as connection:
        row = connection.execute(
            select(InvoiceRecord).where(col(InvoiceRecord.ticket_id) == ticket_id)
        ).first()
    if row is None:
        return None
    return Invoice(row.number, row.amount, row.issued_at, row.lines)


def issue_invoice(engine: Engine, request: InvoiceRequest) -> Invoice:
    """The ticket's invoice: issued now if it has none, else the one already issued. The year
    of its number is the office's local year."""
    if (issued := _existing(engine, request.ticket_id)) is not None:
        return issued
    year = local(request.issued_at, request.timezone).year
    try:
        with engine.begin() as connection:
            number = f"INV-{year}-{next_value(connection, f'invoice:{year}'):06d}"
            connection.execute(
                insert(InvoiceRecord).values(
                    number=number,
                    ticket_id=request.ticket_id,
                    year=year,
                    amount=request.amount,
                    lines=request.lines,
                    issued_at=request.issued_at,
                )
            )
    except IntegrityError:
        # Issued concurrently by an earlier attempt of the same activity.
        if (issued := _existing(engine, request.ticket_id)) is not None:
            return issued
        raise
    return Invoice(number, request.amount, request.issued_at, request.lines)


def invoice(session: Session, number: str) -> InvoiceRecord | None:
    return session.get(InvoiceRecord, number)


def invoices(
    session: Session, *, year: int | None, limit: int, offset: int
) -> tuple[list[InvoiceRecord], int]:
    """A page of invoices, newest number first."""
    query = select(InvoiceRecord)
    if year is not None:
        query = query.where(col(InvoiceRecord.year) == year)
    return page(session, query, [col(InvoiceRecord.number).desc()], limit, offset)
