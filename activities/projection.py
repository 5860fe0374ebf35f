"""Projection of ticket workflows into the read model and the timeline (R11).

Every write carries the ticket id and the step's sequence number, so a second delivery of
the same step changes nothing, and a stale one never overwrites a newer state.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col, select
from temporalio import activity

from models.tables import TicketRecord, TimelineRecord
from models.ticket import Projection, TicketState, TimelineEntry

NEXT_VALUE = text(
    "INSERT INTO counters (name, value) VALUES (:name, 1) "
    "ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value"
)


def next_value(connection: Connection, name: str) -> int:
    """The next number of the gapless sequence `name`, inside the caller's transaction."""
    return int(connection.execute(NEXT_VALUE, {"name": name}).scalar_one())


def ticket_values(state: TicketState) -> dict[str, Any]:
    call_in = state.call_in
    return {
        "seq": state.seq,
        "status": state.status.value,
        "service_type": state.service_type,
        "zone": call_in.zone,
        "customer_name": call_in.customer.name,
        "customer_phone": call_in.customer.phone,
        "customer_address": call_in.customer.address,
        "product_model": call_in.product.model,
        "product_serial_no": call_in.product.serial_no,
        "problem": call_in.problem,
        "channel": call_in.channel,
        "technician": state.technician,
        "amount_due": state.amount_due,
        "amount_paid": state.amount_paid,
        "created_at": state.created_at,
        "updated_at": state.updated_at,
    }


def _upsert_entry(connection: Connection, ticket_id: str, entry: TimelineEntry) -> None:
    values = {
        "ticket_id": ticket_id,
        "seq": entry.seq,
        "at": entry.at,
        "action": entry.action,
        "actor": entry.actor,
        "data": entry.data,
    }
    statement = (
        postgresql.insert(TimelineRecord)
        if connection.dialect.name == "postgresql"
        else sqlite.insert(TimelineRecord)
    ).values(values)
    # The same step executed again (a retried workflow task) writes the same row again.
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=["ticket_id", "seq"],
            set_={k: statement.excluded[k] for k in ("at", "action", "actor", "data")},
        )
    )


class ProjectionActivities:
    """Writes the read model; run as local activities in the ticket's workflow task."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn
    def register_ticket(self, projection: Projection) -> str:
        """R3: the ticket's row and number, created once; a second call returns the number."""
        state = projection.state
        with self.engine.begin() as connection:
            number = connection.execute(
                select(col(TicketRecord.number)).where(col(TicketRecord.id) == state.ticket_id)
            ).scalar_one_or_none()
            if number is None:
                year = state.created_at.year
                number = f"T{year}-{next_value(connection, f'ticket:{year}'):06d}"
                connection.execute(
                    insert(TicketRecord).values(
                        id=state.ticket_id,
                        number=number,
                        registered_by=projection.entry.actor,
                        escalations=[],
                        **ticket_values(state),
                    )
                )
                _upsert_entry(connection, state.ticket_id, projection.entry)
            return str(number)

    @activity.defn
    def project_step(self, projection: Projection) -> None:
        """One step into the read model; older or repeated deliveries change nothing."""
        state = projection.state
        with self.engine.begin() as connection:
            connection.execute(
                update(TicketRecord)
                .where(col(TicketRecord.id) == state.ticket_id)
                .where(col(TicketRecord.seq) <= state.seq)
                .values(**ticket_values(state))
            )
            _upsert_entry(connection, state.ticket_id, projection.entry)
