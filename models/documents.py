"""The customer's papers (issue 14): the service voucher with their signature (R5), the product
receipt (R7), the repair card with every round and its inspection (R8), the invoice (R21) and
the complaint reply letter (R25). A paper exists once the step that makes it was taken; what
it prints comes from the read model (`store/documents.py` gathers it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from models.roles import Reading
from models.tables import (
    ComplaintRecord,
    InvoiceRecord,
    PaymentRecord,
    ProductReceiptRecord,
    RepairRoundRecord,
    TicketRecord,
    TimelineRecord,
)


class DocumentKind(StrEnum):
    VOUCHER = "voucher"
    """R5: what was done on the job, signed by the customer (on site, or at the return)."""
    RECEIPT = "receipt"
    """R7: the product taken into the workshop, signed by the customer."""
    REPAIR_CARD = "repair_card"
    """R8: every workshop round and its inspection, with the photos."""
    INVOICE = "invoice"
    """R21: numbers, lines, discount, payments."""
    COMPLAINT_REPLY = "complaint_reply"
    """R25: the written reply to the customer's complaint."""


@dataclass
class Photo:
    """An image attached to the ticket, as the repair card prints it."""

    about: str
    ref: str | None
    filename: str
    key: str
    content_type: str


@dataclass
class TicketPapers:
    """Everything a ticket's documents print, read together from the read model."""

    ticket: TicketRecord
    timeline: list[TimelineRecord]
    receipt: ProductReceiptRecord | None = None
    rounds: list[RepairRoundRecord] = field(default_factory=list)
    invoice: InvoiceRecord | None = None
    payments: list[PaymentRecord] = field(default_factory=list)
    complaint: ComplaintRecord | None = None
    """The ticket's latest complaint with a reply."""
    photos: list[Photo] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    """The full names of the staff the papers name, by username."""

    def name(self, username: str | None) -> str:
        """A staff member as the customer's papers print them: their full name."""
        if username is None:
            return ""
        return self.names.get(username) or username

    def last(self, *actions: str) -> TimelineRecord | None:
        """The latest step of one of `actions`."""
        found = [entry for entry in self.timeline if entry.action in actions]
        return found[-1] if found else None

    def available(self) -> list[DocumentKind]:
        """The documents the steps so far have made, in the order a job makes them."""
        made = {
            DocumentKind.RECEIPT: self.receipt is not None,
            DocumentKind.REPAIR_CARD: bool(self.rounds),
            DocumentKind.VOUCHER: self.last("resolve", "return") is not None,
            DocumentKind.INVOICE: self.invoice is not None,
            DocumentKind.COMPLAINT_REPLY: self.complaint is not None,
        }
        return [kind for kind, exists in made.items() if exists]


MISSING: dict[DocumentKind, str] = {
    DocumentKind.VOUCHER: "the job is not resolved or returned yet, so there is no voucher",
    DocumentKind.RECEIPT: "the product was not carried into the workshop, so there is no receipt",
    DocumentKind.REPAIR_CARD: "no workshop repair is recorded yet, so there is no repair card",
    DocumentKind.INVOICE: "the ticket has no invoice (yet, or it is not a chargeable job)",
    DocumentKind.COMPLAINT_REPLY: "no complaint about this ticket has a reply yet",
}
"""Why a document does not exist yet, in the words a 404 gives."""


def read_as(kind: DocumentKind) -> Reading:
    """What reading a document is (docs/security.md): the invoice is the invoices', the
    complaint reply the complaints', the others the ticket's."""
    if kind is DocumentKind.INVOICE:
        return Reading.INVOICES
    if kind is DocumentKind.COMPLAINT_REPLY:
        return Reading.COMPLAINTS
    return Reading.TICKETS
