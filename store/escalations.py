"""Escalations (R16): projected by every workflow that raises them (tickets, complaints), and
listed for the people who own them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict

from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from models.escalation import Escalation
from models.tables import EscalationRecord
from store.sql import page, upsert


def project_escalations(connection: Connection, escalations: Iterable[Escalation]) -> None:
    """Writes each escalation's row; the workflow's copy is the truth, so it overwrites."""
    for escalation in escalations:
        upsert(connection, EscalationRecord, asdict(escalation), ["id"])


def escalation(session: Session, escalation_id: str) -> EscalationRecord | None:
    return session.get(EscalationRecord, escalation_id)


def escalations(
    session: Session,
    *,
    open_: bool | None,
    kind: str | None,
    ticket_id: str | None,
    owner_role: str | None,
    owner_roles: Iterable[str] | None,
    limit: int,
    offset: int,
) -> tuple[list[EscalationRecord], int]:
    """A page of escalations, newest first; `open_` for those not acknowledged (or only
    acknowledged ones), `owner_roles` for those owned by any of these roles."""
    query = select(EscalationRecord)
    if open_ is not None:
        acknowledged = col(EscalationRecord.acknowledged_at)
        query = query.where(acknowledged.is_(None) if open_ else acknowledged.is_not(None))
    if kind is not None:
        query = query.where(col(EscalationRecord.kind) == kind)
    if ticket_id is not None:
        query = query.where(col(EscalationRecord.ticket_id) == ticket_id)
    if owner_role is not None:
        query = query.where(col(EscalationRecord.owner_role) == owner_role)
    if owner_roles is not None:
        query = query.where(col(EscalationRecord.owner_role).in_(list(owner_roles)))
    order = (col(EscalationRecord.raised_at).desc(), col(EscalationRecord.id).desc())
    return page(session, query, order, limit, offset)
