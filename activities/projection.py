"""Projection of ticket workflows into the read model: the ticket, its timeline (R11), the
product receipt and in/out register (R7, R8), the repair card (R8) and payments (R21).

The read model is a function of the workflow's state: every write carries the ticket id and
the step's sequence number, so a second delivery of a step changes nothing and a stale one
never overwrites a newer state.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, text, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col, select
from temporalio import activity

from activities.errors import invalid_data_is_final
from activities.escalations import project_escalations
from activities.upsert import insert_missing, upsert
from models.catalog import ensure_product, facts_for_serial
from models.entitlement import ServiceType, decide
from models.tables import (
    PaymentRecord,
    ProductReceiptRecord,
    RegisterRecord,
    RepairRoundRecord,
    TicketRecord,
    TicketTechnicianRecord,
    TimelineRecord,
    ticket_values,
)
from models.ticket import Projection, Registration, TicketState, TimelineEntry

NEXT_VALUE = text(
    "INSERT INTO counters (name, value) VALUES (:name, 1) "
    "ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value"
)


def local(instant: datetime, timezone: str) -> datetime:
    """`instant` on the wall clock of `timezone` (dates and years are the office's)."""
    return instant.astimezone(ZoneInfo(timezone))


def next_value(connection: Connection, name: str) -> int:
    """The next number of the gapless sequence `name`, inside the caller's transaction."""
    return int(connection.execute(NEXT_VALUE, {"name": name}).scalar_one())


def _project_assignment(connection: Connection, ticket_id: str, technician: str | None) -> None:
    """R4: the technician stays among those who may read the ticket after a re-dispatch."""
    if technician is not None:
        insert_missing(
            connection,
            TicketTechnicianRecord,
            {"ticket_id": ticket_id, "technician": technician},
            ["ticket_id", "technician"],
        )


def _project_workshop(connection: Connection, state: TicketState) -> None:
    """The receipt, the in/out register line, the repair card rounds and the payments."""
    receipt = state.receipt
    if receipt is not None:
        upsert(
            connection,
            ProductReceiptRecord,
            {"ticket_id": state.ticket_id, **asdict(receipt)},
            ["number"],
        )
        upsert(
            connection,
            RegisterRecord,
            {
                "ticket_id": state.ticket_id,
                "receipt_number": receipt.number,
                "ticket_number": state.number,
                "customer_name": state.call_in.customer.name,
                "product_model": state.call_in.product.model,
                "product_serial_no": state.call_in.product.serial_no,
                "checked_in_at": receipt.issued_at,
                "checked_out_at": receipt.voided_at,
            },
            ["ticket_id"],
        )
    for repair in state.repair_rounds:
        upsert(
            connection,
            RepairRoundRecord,
            {"ticket_id": state.ticket_id, **asdict(repair)},
            ["ticket_id", "round"],
        )
    for position, payment in enumerate(state.payments, start=1):
        upsert(
            connection,
            PaymentRecord,
            {"ticket_id": state.ticket_id, "position": position, **asdict(payment)},
            ["ticket_id", "position"],
        )


def _entitlement(connection: Connection, state: TicketState) -> Registration:
    """R2: contract, warranty or paid, from the product's records on the day of call-in."""
    if state.service_type == ServiceType.INTERNAL:
        return Registration("", ServiceType.INTERNAL, {"reason": "internal job"})
    product = state.call_in.product
    if not product.serial_no:
        return Registration("", ServiceType.PAID, {"reason": "no serial number given"})
    facts, contracts = facts_for_serial(connection, product.serial_no)
    entitlement = decide(facts, contracts, local(state.created_at, state.timezone).date())
    if facts is None:
        ensure_product(connection, product.serial_no, product.model)
    return Registration(
        "",
        entitlement.service_type.value,
        dict(entitlement.evidence),
        bool(entitlement.covers_labor),
        bool(entitlement.covers_parts),
    )


class ProjectionActivities:
    """Writes the read model; run as local activities in the ticket's workflow task."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn
    def register_ticket(self, projection: Projection) -> Registration:
        """R2, R3: the ticket's row, number and entitlement, decided once; a second call
        returns what the first decided."""
        state, entry = projection.state, projection.entry
        with invalid_data_is_final(f"ticket {state.ticket_id}"), self.engine.begin() as connection:
            row = connection.execute(
                select(
                    col(TicketRecord.number),
                    col(TicketRecord.service_type),
                    col(TicketRecord.evidence),
                ).where(col(TicketRecord.id) == state.ticket_id)
            ).first()
            if row is not None:
                terms = row.evidence.get("terms", {})
                return Registration(
                    row.number,
                    row.service_type,
                    row.evidence,
                    bool(terms.get("covers_labor")),
                    bool(terms.get("covers_parts")),
                )
            registration = _entitlement(connection, state)
            year = local(state.created_at, state.timezone).year
            registration.number = f"T{year}-{next_value(connection, f'ticket:{year}'):06d}"
            if registration.service_type == ServiceType.CONTRACT:
                registration.evidence["terms"] = {
                    "covers_labor": registration.covers_labor,
                    "covers_parts": registration.covers_parts,
                }
            values = ticket_values(state) | {
                "service_type": registration.service_type,
                "evidence": registration.evidence,
            }
            connection.execute(
                insert(TicketRecord).values(
                    id=state.ticket_id,
                    number=registration.number,
                    registered_by=entry.actor,
                    **values,
                )
            )
            entry.data["service_type"] = registration.service_type
            entry.data["evidence"] = registration.evidence
            upsert(
                connection,
                TimelineRecord,
                _entry_values(state, projection.entry),
                ["ticket_id", "seq"],
            )
            return registration

    @activity.defn
    def project_step(self, projection: Projection) -> None:
        """One step into the read model; older or repeated deliveries change nothing."""
        state = projection.state
        with invalid_data_is_final(f"ticket {state.number}"), self.engine.begin() as connection:
            newest = connection.execute(
                update(TicketRecord)
                .where(col(TicketRecord.id) == state.ticket_id)
                .where(col(TicketRecord.seq) <= state.seq)
                .values(**ticket_values(state))
            ).rowcount
            if newest:
                _project_workshop(connection, state)
                project_escalations(connection, state.escalations)
            _project_assignment(connection, state.ticket_id, state.technician)
            upsert(
                connection,
                TimelineRecord,
                _entry_values(state, projection.entry),
                ["ticket_id", "seq"],
            )


def rebuild_ticket(connection: Connection, state: TicketState) -> None:
    """Writes a ticket's whole read model from its workflow's state: for a read model that
    was lost or damaged. Never moves a row backwards."""
    values = ticket_values(state)
    exists = connection.execute(
        select(col(TicketRecord.id)).where(col(TicketRecord.id) == state.ticket_id)
    ).first()
    if exists is None:
        registered_by = state.timeline[0].actor if state.timeline else "unknown"
        connection.execute(
            insert(TicketRecord).values(
                id=state.ticket_id,
                number=state.number,
                registered_by=registered_by,
                **values,
            )
        )
    else:
        connection.execute(
            update(TicketRecord)
            .where(col(TicketRecord.id) == state.ticket_id)
            .where(col(TicketRecord.seq) <= state.seq)
            .values(**values)
        )
    _project_workshop(connection, state)
    project_escalations(connection, state.escalations)
    for entry in state.timeline:
        upsert(connection, TimelineRecord, _entry_values(state, entry), ["ticket_id", "seq"])
        if entry.action == "dispatch":
            _project_assignment(connection, state.ticket_id, entry.data.get("technician"))
    _project_assignment(connection, state.ticket_id, state.technician)


def _entry_values(state: TicketState, entry: TimelineEntry) -> dict[str, Any]:
    return {
        "ticket_id": state.ticket_id,
        "seq": entry.seq,
        "at": entry.at,
        "action": entry.action,
        "actor": entry.actor,
        "data": entry.data,
    }
