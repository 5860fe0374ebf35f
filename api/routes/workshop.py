"""The workshop's paper trail (R7, R8) and billing (R21), read from the read model."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from api.deps import SessionDep, TicketScope, reader
from api.params import Limit, Offset, Year
from api.schemas.workshop import (
    InvoicePublic,
    PaymentPublic,
    ProductReceiptPublic,
    RegisterLinePublic,
    RepairCardPublic,
    RepairRoundPublic,
)
from models.refusals import NOT_FOUND, Refused
from models.roles import Reading
from models.tables import InvoiceRecord, PaymentRecord, RegisterRecord, TicketRecord, User
from store import invoices, tickets, workshop

router = APIRouter(tags=["workshop and billing"])
TicketId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
PaymentsReader = Annotated[User, Depends(reader(Reading.PAYMENTS))]
InvoicesReader = Annotated[User, Depends(reader(Reading.INVOICES))]
RegisterReader = Annotated[User, Depends(reader(Reading.REGISTER))]


def _ticket(db: SessionDep, ticket_id: str, scope: str | None = None) -> TicketRecord:
    ticket = tickets.visible(db, ticket_id, scope)
    if ticket is None:
        raise Refused(NOT_FOUND, f"no ticket '{ticket_id}'")
    return ticket


@router.get("/tickets/{ticket_id}/repair-card", response_model=RepairCardPublic)
def repair_card(ticket_id: TicketId, db: SessionDep, scope: TicketScope) -> RepairCardPublic:
    """R8: the product receipt and every repair round with its inspection."""
    ticket = _ticket(db, ticket_id, scope)
    receipt = workshop.receipt(db, ticket_id)
    return RepairCardPublic(
        ticket_id=ticket.id,
        ticket_number=ticket.number,
        product_model=ticket.product_model,
        product_serial_no=ticket.product_serial_no,
        receipt=ProductReceiptPublic.model_validate(receipt, from_attributes=True)
        if receipt
        else None,
        rounds=[
            RepairRoundPublic.model_validate(r, from_attributes=True)
            for r in workshop.repair_rounds(db, ticket_id)
        ],
    )


@router.get("/tickets/{ticket_id}/payments", response_model=list[PaymentPublic])
def payments(ticket_id: TicketId, db: SessionDep, _: PaymentsReader) -> list[PaymentRecord]:
    _ticket(db, ticket_id)
    return workshop.payments(db, ticket_id)


@router.get("/register", response_model=list[RegisterLinePublic])
def product_register(
    db: SessionDep,
    _: RegisterReader,
    scope: TicketScope,
    response: Response,
    in_workshop: bool | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[RegisterRecord]:
    """R7, R8: the product in/out register, newest first; `in_workshop=true` lists the
    products still in the workshop. A technician sees the lines of their own tickets."""
    rows, total = workshop.register(
        db, in_workshop=in_workshop, scope=scope, limit=limit, offset=offset
    )
    response.headers["X-Total-Count"] = str(total)
    return rows


@router.get("/invoices", response_model=list[InvoicePublic])
def list_invoices(
    db: SessionDep,
    _: InvoicesReader,
    response: Response,
    year: Year | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[InvoiceRecord]:
    """R21: invoices, newest number first."""
    rows, total = invoices.invoices(db, year=year, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    return rows


@router.get("/invoices/{number}", response_model=InvoicePublic)
def invoice(
    number: Annotated[str, Path(max_length=32)], db: SessionDep, _: InvoicesReader
) -> InvoiceRecord:
    found = invoices.invoice(db, number)
    if found is None:
        raise Refused(NOT_FOUND, f"no invoice '{number}'")
    return found
