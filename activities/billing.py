"""Invoicing (R6, R9, R21): exactly one invoice per chargeable job, numbered without gaps
(store/invoices.py)."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from temporalio import activity

from activities.errors import invalid_data_is_final
from models.ticket import Invoice, InvoiceRequest
from store import invoices


class BillingActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn
    def issue_invoice(self, request: InvoiceRequest) -> Invoice:
        """The ticket's invoice: issued now if it has none, else the one already issued."""
        with invalid_data_is_final(f"invoice of {request.ticket_number}"):
            return invoices.issue_invoice(self.engine, request)
