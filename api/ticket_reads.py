"""Reads of the tickets read model."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Session, col, select

from models.db import page
from models.lifecycle import Status
from models.schemas import TicketPublic, TimelineEntryPublic
from models.tables import TicketRecord, TimelineRecord


class Order(StrEnum):
    NEWEST = "newest"
    DISPATCH = "dispatch"
    """R14: carried-over tickets first, then first come, first served."""


def ticket(db: Session, ticket_id: str) -> TicketPublic | None:
    row = db.get(TicketRecord, ticket_id)
    return TicketPublic.from_record(row) if row else None


def tickets(
    db: Session,
    *,
    status: Status | None,
    technician: str | None,
    service_type: str | None,
    zone: str | None,
    escalated: bool | None,
    customer_phone: str | None,
    created_from: datetime | None,
    created_to: datetime | None,
    order: Order = Order.NEWEST,
    limit: int,
    offset: int,
) -> tuple[list[TicketPublic], int]:
    """A page of tickets in `order`, and how many match in all."""
    query = select(TicketRecord)
    if status is not None:
        query = query.where(col(TicketRecord.status) == status.value)
    if technician is not None:
        query = query.where(col(TicketRecord.technician) == technician)
    if service_type is not None:
        query = query.where(col(TicketRecord.service_type) == service_type)
    if zone is not None:
        query = query.where(col(TicketRecord.zone) == zone)
    if escalated is not None:
        opened = col(TicketRecord.open_escalations) > 0
        query = query.where(opened if escalated else ~opened)
    if customer_phone is not None:
        query = query.where(col(TicketRecord.customer_phone) == customer_phone)
    if created_from is not None:
        query = query.where(col(TicketRecord.created_at) >= created_from)
    if created_to is not None:
        query = query.where(col(TicketRecord.created_at) < created_to)
    rows, total = page(db, query, ORDERS[order], limit, offset)
    return [TicketPublic.from_record(row) for row in rows], total


ORDERS = {
    Order.NEWEST: (col(TicketRecord.created_at).desc(), col(TicketRecord.number).desc()),
    Order.DISPATCH: (
        col(TicketRecord.priority).desc(),
        col(TicketRecord.created_at),
        col(TicketRecord.number),
    ),
}


def timeline(db: Session, ticket_id: str) -> list[TimelineEntryPublic]:
    rows = db.exec(
        select(TimelineRecord)
        .where(col(TimelineRecord.ticket_id) == ticket_id)
        .order_by(col(TimelineRecord.seq))
    ).all()
    return [TimelineEntryPublic.from_record(row) for row in rows]
