"""The workshop's paper trail (R7, R8) and billing (R21), read from the read model."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Response, status
from sqlmodel import Session, col, select

from api import ticket_reads
from api.deps import SessionDep, TicketScope, reader
from api.params import Limit, Offset, Year
from models.db import page
from models.roles import Reading
from models.schemas import (
    InvoicePublic,
    PaymentPublic,
    ProductReceiptPublic,
    RegisterLinePublic,
    RepairCardPublic,
    RepairRoundPublic,
)
from models.tables import (
    InvoiceRecord,
    PaymentRecord,
    ProductReceiptRecord,
    RegisterRecord,
    RepairRoundRecord,
    TicketRecord,
    User,
)

router = APIRouter(tags=["workshop and billing"])
TicketId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
PaymentsReader = Annotated[User, Depends(reader(Reading.PAYMENTS))]
InvoicesReader = Annotated[User, Depends(reader(Reading.INVOICES))]
RegisterReader = Annotated[User, Depends(reader(Reading.REGISTER))]


def _ticket(db: Session, ticket_id: str, scope: str | None = None) -> TicketRecord:
    ticket = ticket_reads.visible_record(db, ticket_id, scope)
    if ticket is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no ticket '{ticket_id}'")
    return ticket


@router.get("/tickets/{ticket_id}/repair-card", response_model=RepairCardPublic)
def repair_card(ticket_id: TicketId, db: SessionDep, scope: TicketScope) -> RepairCardPublic:
    """R8: the product receipt and every repair round with its inspection."""
    ticket = _ticket(db, ticket_id, scope)
    receipt = db.exec(
        select(ProductReceiptRecord).where(col(ProductReceiptRecord.ticket_id) == ticket_id)
    ).first()
    rounds = db.exec(
        select(RepairRoundRecord)
        .where(col(RepairRoundRecord.ticket_id) == ticket_id)
        .order_by(col(RepairRoundRecord.round))
    ).all()
    return RepairCardPublic(
        ticket_id=ticket.id,
        ticket_number=ticket.number,
        product_model=ticket.product_model,
        product_serial_no=ticket.product_serial_no,
        receipt=ProductReceiptPublic.model_validate(receipt, from_attributes=True)
        if receipt
        else None,
        rounds=[RepairRoundPublic.model_validate(r, from_attributes=True) for r in rounds],
    )


@router.get("/tickets/{ticket_id}/payments", response_model=list[PaymentPublic])
def payments(ticket_id: TicketId, db: SessionDep, _: PaymentsReader) -> list[PaymentRecord]:
    _ticket(db, ticket_id)
    return list(
        db.exec(
            select(PaymentRecord)
            .where(col(PaymentRecord.ticket_id) == ticket_id)
            .order_by(col(PaymentRecord.position))
        ).all()
    )


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
    query = select(RegisterRecord)
    if scope is not None:
        query = query.join(TicketRecord).where(ticket_reads.assigned_to(scope))
    if in_workshop is not None:
        out = col(RegisterRecord.checked_out_at)
        query = query.where(out.is_(None) if in_workshop else out.is_not(None))
    rows, total = page(db, query, [col(RegisterRecord.checked_in_at).desc()], limit, offset)
    response.headers["X-Total-Count"] = str(total)
    return rows


@router.get("/invoices", response_model=list[InvoicePublic])
def invoices(
    db: SessionDep,
    _: InvoicesReader,
    response: Response,
    year: Year | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[InvoiceRecord]:
    """R21: invoices, newest number first."""
    query = select(InvoiceRecord)
    if year is not None:
        query = query.where(col(InvoiceRecord.year) == year)
    rows, total = page(db, query, [col(InvoiceRecord.number).desc()], limit, offset)
    response.headers["X-Total-Count"] = str(total)
    return rows


@router.get("/invoices/{number}", response_model=InvoicePublic)
def invoice(
    number: Annotated[str, Path(max_length=32)], db: SessionDep, _: InvoicesReader
) -> InvoiceRecord:
    found = db.get(InvoiceRecord, number)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no invoice '{number}'")
    return found
