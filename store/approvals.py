"""Approvals (R17-R20): projected from each ticket's work order, and listed for the people
who decide them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import ColumnElement, String, cast, or_
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from models.tables import ApprovalRecord
from models.ticket import TicketState
from store.sql import page, upsert


def project_approvals(connection: Connection, state: TicketState) -> None:
    """Writes each approval of the ticket's work order; the workflow's copy is the truth."""
    order = state.work_order
    for approval in order.approvals if order else []:
        values = asdict(approval) | {"ticket_number": state.number}
        upsert(connection, ApprovalRecord, values, ["id"])


def approval(session: Session, approval_id: str) -> ApprovalRecord | None:
    return session.get(ApprovalRecord, approval_id)


def of_tickets(session: Session, ticket_ids: Iterable[str]) -> dict[str, list[ApprovalRecord]]:
    """The approvals of each ticket, oldest first."""
    found: dict[str, list[ApprovalRecord]] = {ticket_id: [] for ticket_id in ticket_ids}
    if found:
        rows = session.exec(
            select(ApprovalRecord)
            .where(col(ApprovalRecord.ticket_id).in_(list(found)))
            .order_by(col(ApprovalRecord.requested_at), col(ApprovalRecord.id))
        ).all()
        for row in rows:
            found[row.ticket_id].append(row)
    return found


def _names_a_role(roles: Iterable[str]) -> ColumnElement[bool]:
    """Rows whose `approver_roles` (a JSON list) name one of `roles`."""
    listed = cast(ApprovalRecord.approver_roles, String)
    return or_(*(listed.like(f'%"{role}"%') for role in roles))


def approvals(
    session: Session,
    *,
    status: str | None,
    kind: str | None,
    ticket_id: str | None,
    deciders: tuple[str, list[str]] | None,
    requested_from: datetime | None = None,
    limit: int,
    offset: int,
) -> tuple[list[ApprovalRecord], int]:
    """A page of approvals, newest first; `deciders` (a user and their roles): only the
    pending ones that user may decide (never their own requests)."""
    query = select(ApprovalRecord)
    if status is not None:
        query = query.where(col(ApprovalRecord.status) == status)
    if kind is not None:
        query = query.where(col(ApprovalRecord.kind) == kind)
    if ticket_id is not None:
        query = query.where(col(ApprovalRecord.ticket_id) == ticket_id)
    if requested_from is not None:
        query = query.where(col(ApprovalRecord.requested_at) >= requested_from)
    if deciders is not None:
        user, roles = deciders
        query = query.where(
            col(ApprovalRecord.status) == "pending",
            col(ApprovalRecord.requested_by) != user,
            _names_a_role(roles),
        )
    order = [col(ApprovalRecord.requested_at).desc(), col(ApprovalRecord.id).desc()]
    return page(session, query, order, limit, offset)
