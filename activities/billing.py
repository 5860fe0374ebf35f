"""Invoicing (R6, R9, R21): exactly one invoice per chargeable job, numbered without gaps.

The number is taken from the year's counter in the same transaction that stores the invoice,
and the invoice is unique per ticket: a retried activity, or one whose worker died mid-call,
finds the invoice already there and returns it, and a rolled-back attempt leaves no gap.
"""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from temporalio import activity

from activities.errors import invalid_data_is_final
from activities.projection import local, next_value
from models.tables import InvoiceRecord
from models.ticket import Invoice, InvoiceRequest


class BillingActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _existing(self, ticket_id: str) -> Invoice | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(InvoiceRecord).where(col(InvoiceRecord.ticket_id) == ticket_id)
            ).first()
        if row is None:
            return None
        return Invoice(row.number, row.amount, row.issued_at, row.lines)

    @activity.defn
    def issue_invoice(self, request: InvoiceRequest) -> Invoice:
        """The ticket's invoice: issued now if it has none, else the one already issued."""
        if (issued := self._existing(request.ticket_id)) is not None:
            return issued
        year = local(request.issued_at, request.timezone).year
        try:
            with (
                invalid_data_is_final(f"invoice of {request.ticket_number}"),
                self.engine.begin() as connection,
            ):
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
            # Issued concurrently by an earlier attempt of this activity.
            if (issued := self._existing(request.ticket_id)) is not None:
                return issued
            raise
        return Invoice(number, request.amount, request.issued_at, request.lines)
