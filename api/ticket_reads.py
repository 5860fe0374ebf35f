"""Reads of the tickets read model."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import exists
from sqlmodel import Session, col, select

from models.db import page
from models.lifecycle import Status
from models.schemas import TicketPublic, TimelineEntryPublic
from models.tables import EscalationRecord, TicketRecord, TicketTechnicianRecord, TimelineRecord


class Order(StrEnum):
    NEWEST = "newest"
    DISPATCH = "dispatch"
    """R14: carried-over tickets first, then first come, first served."""


def escalations_of(db: Session, ticket_ids: Iterable[str]) -> dict[str, list[EscalationRecord]]:
    """The escalations of each ticket, its own and its complaints' (R16), oldest first."""
    found: dict[str, list[EscalationRecord]] = {ticket_id: [] for ticket_id in ticket_ids}
    if found:
        rows = db.exec(
            select(EscalationRecord)
            .where(col(EscalationRecord.ticket_id).in_(list(found)))
            .order_by(col(EscalationRecord.raised_at), col(EscalationRecord.id))
        ).all()
        for row in rows:
            found[row.ticket_id].append(row)
    return found


def assigned_to(technician: str) -> Any:
    """R4: the tickets `technician` was ever assigned to (a re-dispatch does not take them
    away: what they did is theirs to read)."""
    return exists().where(
        col(TicketTechnicianRecord.ticket_id) == col(TicketRecord.id),
        col(TicketTechnicianRecord.technician) == technician,
    )


def visible_record(db: Session, ticket_id: str, scope: str | None) -> TicketRecord | None:
    """The ticket's row if it exists and `scope` (a technician, or None for everyone) may
    read it."""
    row = db.get(TicketRecord, ticket_id)
    if row is None or scope is None:
        return row
    mine = db.exec(select(TicketRecord.id).where(TicketRecord.id == ticket_id, assigned_to(scope)))
    return row if mine.first() is not None else None


def ticket(db: Session, ticket_id: str, scope: str | None = None) -> TicketPublic | None:
    row = visible_record(db, ticket_id, scope)
    if row is None:
        return None
    return TicketPublic.from_record(row, escalations_of(db, [ticket_id])[ticket_id])


def _public(db: Session, rows: list[TicketRecord]) -> list[TicketPublic]:
    escalations = escalations_of(db, [row.id for row in rows])
    return [TicketPublic.from_record(row, escalations[row.id]) for row in rows]


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
    scope: str | None = None,
) -> tuple[list[TicketPublic], int]:
    """A page of tickets in `order`, and how many match in all; only `scope`'s (a
    technician's) when given."""
    query = select(TicketRecord)
    if scope is not None:
        query = query.where(assigned_to(scope))
    if status is not None:
        query = query.where(col(TicketRecord.status) == status.value)
    if technician is not None:
        query = query.where(col(TicketRecord.technician) == technician)
    if service_type is not None:
        query = query.where(col(TicketRecord.service_type) == service_type)
    if zone is not None:
        query = query.where(col(TicketRecord.zone) == zone)
    if escalated is not None:
        opened = exists().where(
            col(EscalationRecord.ticket_id) == col(TicketRecord.id),
            col(EscalationRecord.acknowledged_at).is_(None),
        )
        query = query.where(opened if escalated else ~opened)
    if customer_phone is not None:
        query = query.where(col(TicketRecord.customer_phone) == customer_phone)
    if created_from is not None:
        query = query.where(col(TicketRecord.created_at) >= created_from)
    if created_to is not None:
        query = query.where(col(TicketRecord.created_at) < created_to)
    rows, total = page(db, query, ORDERS[order], limit, offset)
    return _public(db, rows), total


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
