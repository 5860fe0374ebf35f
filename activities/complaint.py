"""Complaints into the read model (R25, R26, A2): registration with its gapless number and the
repeat check, and the projection of each step with the complaint's escalations (R16).

The row is a function of the workflow's state: a second delivery of a step writes the same
row again, and a second registration returns what the first decided.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import insert, null
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col, select
from temporalio import activity

from activities.errors import invalid_data_is_final
from activities.escalations import project_escalations
from activities.projection import next_value
from activities.upsert import upsert
from models.complaint import ComplaintState, Registered
from models.followup import ComplaintStart
from models.tables import ComplaintRecord


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


class ComplaintActivities:
    """Writes the complaints read model; run as local activities in the complaint's workflow."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn
    def register_complaint(self, state: ComplaintState) -> Registered:
        """R26, A2: the complaint's number (`C<year>-NNNNNN`, gapless per year), the repeat
        check and its row, decided once; a second call returns what the first decided."""
        start = state.start
        with invalid_data_is_final("complaint"), self.engine.begin() as connection:
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

    @activity.defn
    def project_complaint(self, state: ComplaintState) -> None:
        """One step into the read model: the complaint's row and its escalations (R16)."""
        assert state.complaint_id is not None, "a complaint is projected once registered"
        with invalid_data_is_final(state.complaint_id), self.engine.begin() as connection:
            upsert(connection, ComplaintRecord, complaint_values(state), ["id"])
            project_escalations(connection, state.escalations)
