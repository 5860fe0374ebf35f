"""The recorded instants a policy what-if replays (models/what_if.py): the period's tickets
that had an arrival deadline, their holds, their escalations and their contracts' own arrival
hours (R13)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from models.tables import ContractRecord, EscalationRecord, TicketRecord, TimelineRecord
from models.what_if import Recorded

T = TicketRecord


def recorded(
    session: Session, start: datetime, end: datetime, branch: str | None
) -> list[Recorded]:
    """The tickets called in in [start, end) (of `branch`) with an arrival deadline, oldest
    first."""
    query = select(T).where(
        col(T.created_at) >= start,
        col(T.created_at) < end,
        col(T.arrival_due_at).is_not(None),
        col(T.service_type) != "internal",
    )
    if branch is not None:
        query = query.where(col(T.branch) == branch)
    tickets = list(session.exec(query.order_by(col(T.created_at), col(T.id))).all())
    ids = [ticket.id for ticket in tickets]
    holds = _holds(session, ids)
    escalations: dict[str, list[str]] = {}
    for ticket_id, kind in session.exec(
        select(EscalationRecord.ticket_id, EscalationRecord.kind).where(
            col(EscalationRecord.ticket_id).in_(ids)
        )
    ):
        escalations.setdefault(ticket_id, []).append(kind)
    hours = _contract_hours(session, tickets)
    return [
        Recorded(
            ticket_id=ticket.id,
            zone=ticket.zone,
            created_at=ticket.created_at,
            dispatched_at=ticket.dispatched_at,
            arrived_at=ticket.arrived_at,
            done_at=min((t for t in (ticket.resolved_at, ticket.ended_at) if t), default=None),
            cancelled=ticket.status == "cancelled",
            holds=holds.get(ticket.id, []),
            arrival_due_at=ticket.arrival_due_at,
            escalations=escalations.get(ticket.id, []),
            contract_hours=hours.get(str(ticket.evidence.get("contract"))),
        )
        for ticket in tickets
    ]


def _holds(session: Session, ids: list[str]) -> dict[str, list[tuple[datetime, datetime | None]]]:
    steps = session.exec(
        select(TimelineRecord.ticket_id, TimelineRecord.action, TimelineRecord.at)
        .where(col(TimelineRecord.ticket_id).in_(ids))
        .where(col(TimelineRecord.action).in_(["hold", "resume"]))
        .order_by(col(TimelineRecord.ticket_id), col(TimelineRecord.seq))
    )
    found: dict[str, list[tuple[datetime, datetime | None]]] = {}
    for ticket_id, action, at in steps:
        mine = found.setdefault(ticket_id, [])
        if action == "hold":
            mine.append((at, None))
        elif mine and mine[-1][1] is None:
            mine[-1] = (mine[-1][0], at)
    return found


def _contract_hours(session: Session, tickets: list[Any]) -> dict[str, float]:
    numbers = {str(t.evidence["contract"]) for t in tickets if t.evidence.get("contract")}
    if not numbers:
        return {}
    rows = session.exec(
        select(ContractRecord.number, ContractRecord.arrival_hours).where(
            col(ContractRecord.number).in_(numbers), col(ContractRecord.arrival_hours).is_not(None)
        )
    )
    return {number: float(hours) for number, hours in rows if hours is not None}
