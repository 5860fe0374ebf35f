"""The workshop's paper trail (R7, R8) and a ticket's payments (R21), as the read model keeps
them."""

from __future__ import annotations

from sqlmodel import Session, col, select

from models.tables import (
    PaymentRecord,
    ProductReceiptRecord,
    RegisterRecord,
    RepairRoundRecord,
    TicketRecord,
)
from store.sql import page
from store.tickets import assigned_to


def receipt(session: Session, ticket_id: str) -> ProductReceiptRecord | None:
    """R7: the product receipt of a carried-in ticket."""
    return session.exec(
        select(ProductReceiptRecord).where(col(ProductReceiptRecord.ticket_id) == ticket_id)
    ).first()


def repair_rounds(session: Session, ticket_id: str) -> list[RepairRoundRecord]:
    """R8: the repair card's rounds, in order, each with its inspection."""
    return list(
        session.exec(
            select(RepairRoundRecord)
            .where(col(RepairRoundRecord.ticket_id) == ticket_id)
            .order_by(col(RepairRoundRecord.round))
        ).all()
    )


def payments(session: Session, ticket_id: str) -> list[PaymentRecord]:
    """R21: the ticket's payments, in the order they were recorded."""
    return list(
        session.exec(
            select(PaymentRecord)
            .where(col(PaymentRecord.ticket_id) == ticket_id)
            .order_by(col(PaymentRecord.position))
        ).all()
    )


def register(
    session: Session,
    *,
    in_workshop: bool | None,
    scope: str | None,
    limit: int,
    offset: int,
) -> tuple[list[RegisterRecord], int]:
    """R7, R8: a page of the product in/out register, newest first; `in_workshop` for the
    products still in (or already out); `scope`: only that technician's tickets."""
    query = select(RegisterRecord)
    if scope is not None:
        query = query.join(TicketRecord).where(assigned_to(scope))
    if in_workshop is not None:
        out = col(RegisterRecord.checked_out_at)
        query = query.where(out.is_(None) if in_workshop else out.is_not(None))
    return page(session, query, [col(RegisterRecord.checked_in_at).desc()], limit, offset)
