"""Complaints in the read model (R25, R26, A2): registration with the gapless number and the
repeat check, the projection of each step with the complaint's escalations (R16), and the
reads of the API.

The row is a function of the workflow's state: a second delivery of a step writes the same
row again, and a second registration returns what the first decided.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import insert, null
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from models.complaint import ComplaintState, Registered
from models.followup import ComplaintStart
from models.refusals import NOT_FOUND, Refused
from models.tables import ComplaintRecord, EscalationRecord
from store.escalations import project_escalations
from store.sql import next_value, page, upsert


def _json(step: dict[str, Any] | None) -> Any:
    """A step's JSON, or SQL NULL (not JSON `null`) before it happens, so `IS NULL` finds it."""
    return null() if step is None else step


def complaint_values(state: ComplaintState) -> dict[str, Any]:
    """The complaint's row, from its workflow's state."""
    start = state.start
    return {
        "id": state.complaint_id,
        "ticket_id": start.ticket_id,
        "ticket_number": start.ticket_number,
        "workflow_id": state.workflow_id,
        "customer_name": start.customer.name,
        "customer_phone": start.customer.phone,
        "product_model": start.product.model,
        "product_serial_no": start.product.serial_no,
        "technician": start.technician,
        "text": start.text,
        "received_via": start.received_via,
        "recorded_by": start.recorded_by,
        "received_at": start.received_at,
        "repeated": state.repeated,
        "previous_complaint_id": state.previous_complaint_id,
        "status": state.status.value,
        "severity": state.severity,
        "triage": _json(state.triage),
        "vp_review": _json(state.vp_review),
        "reply": _json(state.reply),
        "visit": _json(state.visit),
        "closed_at": state.closed_at,
        "closed_by": state.closed_by,
        "updated_at": state.updated_at,
    }


def previous_complaint(
    connection: Connection, start: ComplaintStart, workflow_id: str
) -> str | None:
    """A2 (R26): the latest earlier complaint from the same customer phone about the same
    product (its serial number, or its model when there is none) within the repeat window."""
    record = ComplaintRecord
    since = start.received_at - timedelta(days=start.repeat_window_days)
    query = select(col(record.id)).where(
        col(record.customer_phone) == start.customer.phone,
        col(record.received_at) >= since,
        col(record.received_at) <= start.received_at,
        col(record.workflow_id) != workflow_id,
    )
    if start.product.serial_no:
        query = query.where(col(record.product_serial_no) == start.product.serial_no)
    else:
        query = query.where(col(record.product_model) == start.product.model)
    order = (col(record.received_at).desc(), col(record.id).desc())
    found = connection.execute(query.order_by(*order).limit(1)).scalar_one_or_none()
    return str(found) if found is not None else None


def register(connection: Connection, state: ComplaintState) -> Registered:
    """R26, A2: the complaint's number (`C<year>-NNNNNN`, gapless per year), the repeat check
    and its row, decided once; a second call returns what the first decided."""
    start = state.start
    row = connection.execute(
        select(
            col(ComplaintRecord.id),
            col(ComplaintRecord.repeated),
            col(ComplaintRecord.previous_complaint_id),
        ).where(
            col(ComplaintRecord.ticket_id) == start.ticket_id,
            col(ComplaintRecord.workflow_id) == state.workflow_id,
        )
    ).first()
    if row is not None:
        return Registered(row.id, row.repeated, row.previous_complaint_id)
    previous = previous_complaint(connection, start, state.workflow_id)
    year = start.received_at.astimezone(UTC).year
    number = f"C{year}-{next_value(connection, f'complaint:{year}'):06d}"
    values = complaint_values(state) | {
        "id": number,
        "repeated": previous is not None,
        "previous_complaint_id": previous,
    }
    connection.execute(insert(ComplaintRecord).values(**values))
    return Registered(number, previous is not None, previous)


def project(connection: Connection, state: ComplaintState) -> None:
    """One step into the read model: the complaint's row and its escalations (R16)."""
    assert state.complaint_id is not None, "a complaint is projected once registered"
    upsert(connection, ComplaintRecord, complaint_values(state), ["id"])
    project_escalations(connection, state.escalations)


def number_of(connection: Connection, workflow_id: str) -> str | None:
    """The number of the complaint run by `workflow_id`, once it is registered."""
    number = connection.execute(
        select(col(ComplaintRecord.id)).where(col(ComplaintRecord.workflow_id) == workflow_id)
    ).scalar_one_or_none()
    return str(number) if number is not None else None


# --- reads -----------------------------------------------------------------------------------


def complaint(session: Session, complaint_id: str) -> ComplaintRecord:
    row = session.get(ComplaintRecord, complaint_id)
    if row is None:
        raise Refused(NOT_FOUND, f"no complaint '{complaint_id}'")
    return row


def complaint_of_workflow(session: Session, workflow_id: str) -> ComplaintRecord:
    row = session.exec(
        select(ComplaintRecord).where(col(ComplaintRecord.workflow_id) == workflow_id)
    ).first()
    if row is None:
        raise Refused(NOT_FOUND, f"no complaint for '{workflow_id}'")
    return row


def workflows_of_ticket(session: Session, ticket_id: str) -> list[str]:
    """The workflow ids of a ticket's complaints so far."""
    return list(
        session.exec(
            select(col(ComplaintRecord.workflow_id)).where(
                col(ComplaintRecord.ticket_id) == ticket_id
            )
        ).all()
    )


def escalations_of(
    session: Session, rows: Iterable[ComplaintRecord]
) -> dict[str, list[EscalationRecord]]:
    """The escalations each complaint raised, by its workflow id, in one query."""
    rows = list(rows)
    found: dict[str, list[EscalationRecord]] = {row.workflow_id: [] for row in rows}
    if rows:
        for escalation in session.exec(
            select(EscalationRecord)
            .where(col(EscalationRecord.ticket_id).in_({row.ticket_id for row in rows}))
            .where(col(EscalationRecord.workflow_id).in_(list(found)))
        ).all():
            found[escalation.workflow_id].append(escalation)
    return found


def complaints(
    session: Session,
    *,
    status: str | None,
    severity: str | None,
    repeated: bool | None,
    visited: bool | None,
    ticket_id: str | None,
    technician: str | None,
    limit: int,
    offset: int,
) -> tuple[list[ComplaintRecord], int]:
    """A page of complaints, newest first; `visited=False` for the customers still to be
    visited (R26)."""
    query = select(ComplaintRecord)
    if status is not None:
        query = query.where(col(ComplaintRecord.status) == status)
    if severity is not None:
        query = query.where(col(ComplaintRecord.severity) == severity)
    if repeated is not None:
        query = query.where(col(ComplaintRecord.repeated).is_(repeated))
    if visited is not None:
        visit = col(ComplaintRecord.visit)
        query = query.where(visit.is_not(None) if visited else visit.is_(None))
    if ticket_id is not None:
        query = query.where(col(ComplaintRecord.ticket_id) == ticket_id)
    if technician is not None:
        query = query.where(col(ComplaintRecord.technician) == technician)
    order = (col(ComplaintRecord.received_at).desc(), col(ComplaintRecord.id).desc())
    return page(session, query, order, limit, offset)
