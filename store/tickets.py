"""The tickets read model: reads for the API, and the projection of each ticket's workflow
state into it (the ticket, its timeline (R11), the product receipt and in/out register (R7,
R8), the repair card (R8), payments (R21), escalations (R16) and the technicians it was ever
assigned to (R4)).

The read model is a function of the workflow's state: every write carries the ticket id and
the step's sequence number, so a second delivery of a step changes nothing and a stale one
never overwrites a newer state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, exists, insert, update
from sqlalchemy import select as core_select
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from models.entitlement import ServiceType, decide
from models.lifecycle import Status
from models.tables import (
    EscalationRecord,
    PartUsageRecord,
    PaymentRecord,
    ProductReceiptRecord,
    RegisterRecord,
    RepairRoundRecord,
    TicketRecord,
    TicketTechnicianRecord,
    TimelineRecord,
    ticket_values,
)
from models.ticket import Registration, TicketState, TimelineEntry
from models.worktime import local
from store.approvals import project_approvals
from store.catalog import ensure_customer, ensure_product, facts_for_serial
from store.escalations import project_escalations
from store.sql import insert_missing, next_value, page, upsert

USING_PARTS = frozenset({"resolve", "record_repair"})
"""R36: the steps whose parts went into the product (a resolution, a repair round)."""


class Order(StrEnum):
    NEWEST = "newest"
    DISPATCH = "dispatch"
    """R14: carried-over tickets first, then first come, first served."""


ORDERS = {
    Order.NEWEST: (col(TicketRecord.created_at).desc(), col(TicketRecord.number).desc()),
    Order.DISPATCH: (
        col(TicketRecord.priority).desc(),
        col(TicketRecord.created_at),
        col(TicketRecord.number),
    ),
}


# --- reads -----------------------------------------------------------------------------------


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


def visible(db: Session, ticket_id: str, scope: str | None = None) -> TicketRecord | None:
    """The ticket's row if it exists and `scope` (a technician, or None for everyone) may
    read it."""
    row = db.get(TicketRecord, ticket_id)
    if row is None or scope is None:
        return row
    mine = db.exec(
        select(col(TicketRecord.id)).where(col(TicketRecord.id) == ticket_id, assigned_to(scope))
    )
    return row if mine.first() is not None else None


def tickets(
    db: Session,
    *,
    status: Status | None = None,
    technician: str | None = None,
    service_type: str | None = None,
    zone: str | None = None,
    escalated: bool | None = None,
    branch: str | None = None,
    customer_phone: str | None = None,
    customer_id: int | None = None,
    number: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    order: Order = Order.NEWEST,
    limit: int,
    offset: int,
    scope: str | None = None,
) -> tuple[list[TicketRecord], int]:
    """A page of tickets in `order`, and how many match in all (None: any); only `scope`'s
    (a technician's) when given."""
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
    if branch is not None:
        query = query.where(col(TicketRecord.branch) == branch)
    if escalated is not None:
        opened = exists().where(
            col(EscalationRecord.ticket_id) == col(TicketRecord.id),
            col(EscalationRecord.acknowledged_at).is_(None),
        )
        query = query.where(opened if escalated else ~opened)
    if customer_phone is not None:
        query = query.where(col(TicketRecord.customer_phone) == customer_phone)
    if customer_id is not None:
        query = query.where(col(TicketRecord.customer_id) == customer_id)
    if number is not None:
        query = query.where(col(TicketRecord.number) == number)
    if created_from is not None:
        query = query.where(col(TicketRecord.created_at) >= created_from)
    if created_to is not None:
        query = query.where(col(TicketRecord.created_at) < created_to)
    return page(db, query, ORDERS[order], limit, offset)


ASSIGNED_WORK = (
    Status.DISPATCHED,
    Status.ON_SITE,
    Status.CARRIED_IN,
    Status.REPAIRED,
    Status.READY_FOR_RETURN,
)
"""A technician's open jobs: assigned to them and not yet resolved."""


def _open_work(technicians: list[str]) -> Any:
    """The tickets assigned to one of `technicians` that are still theirs to work on
    (ASSIGNED_WORK)."""
    return and_(
        col(TicketRecord.technician).in_(technicians),
        col(TicketRecord.status).in_([s.value for s in ASSIGNED_WORK]),
    )


JOB_ORDER = (col(TicketRecord.created_at), col(TicketRecord.number))
"""Open jobs, the oldest call first."""


def open_jobs(db: Session, technicians: Iterable[str]) -> dict[str, list[TicketRecord]]:
    """Each technician's open jobs (ASSIGNED_WORK), the oldest call first."""
    found: dict[str, list[TicketRecord]] = {username: [] for username in technicians}
    if found:
        query = select(TicketRecord).where(_open_work(list(found))).order_by(*JOB_ORDER)
        for row in db.exec(query).all():
            found[str(row.technician)].append(row)
    return found


@dataclass(frozen=True)
class JobLine:
    """An open job as a list of a technician's jobs shows it."""

    id: str
    number: str
    status: str


def open_job_lines(db: Session, technicians: Iterable[str]) -> dict[str, list[JobLine]]:
    """`open_jobs` as lines: only what the dispatch board shows of each, read without the
    tickets' JSON columns (the board reads hundreds of them every 15 s)."""
    found: dict[str, list[JobLine]] = {username: [] for username in technicians}
    if found:
        line = (
            col(TicketRecord.technician),
            col(TicketRecord.id),
            col(TicketRecord.number),
            col(TicketRecord.status),
        )
        query = core_select(*line).where(_open_work(list(found))).order_by(*JOB_ORDER)
        for technician, ticket_id, number, status in db.connection().execute(query):
            found[str(technician)].append(JobLine(ticket_id, number, status))
    return found


def awaiting_payment(db: Session, *, limit: int) -> tuple[list[TicketRecord], int]:
    """R21: the resolved tickets whose invoice has a balance left, resolved longest ago first
    (up to `limit`), and how many there are in all."""
    query = select(TicketRecord).where(
        col(TicketRecord.status) == Status.RESOLVED.value,
        col(TicketRecord.invoice).is_not(None),
        col(TicketRecord.amount_paid) < col(TicketRecord.amount_due),
    )
    return page(db, query, [col(TicketRecord.resolved_at), col(TicketRecord.seq)], limit, 0)


def timeline(db: Session, ticket_id: str) -> list[TimelineRecord]:
    """R11: every step of the ticket, oldest first."""
    return list(
        db.exec(
            select(TimelineRecord)
            .where(col(TimelineRecord.ticket_id) == ticket_id)
            .order_by(col(TimelineRecord.seq))
        ).all()
    )


# --- the projection of a ticket's workflow ---------------------------------------------------


def register(connection: Connection, state: TicketState, entry: TimelineEntry) -> Registration:
    """R2, R3: the ticket's row, number and entitlement, decided once in the caller's
    transaction; a second call returns what the first decided."""
    row = connection.execute(
        select(
            col(TicketRecord.number),
            col(TicketRecord.service_type),
            col(TicketRecord.evidence),
            col(TicketRecord.customer_id),
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
            row.customer_id,
        )
    registration = _entitlement(connection, state)
    registration.customer_id = _customer_of(connection, state)
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
        "customer_id": registration.customer_id,
    }
    connection.execute(
        insert(TicketRecord).values(
            id=state.ticket_id, number=registration.number, registered_by=entry.actor, **values
        )
    )
    entry.data["service_type"] = registration.service_type
    entry.data["evidence"] = registration.evidence
    upsert(connection, TimelineRecord, _entry_values(state, entry), ["ticket_id", "seq"])
    return registration


def _customer_of(connection: Connection, state: TicketState) -> int | None:
    """The customer's one record (none for the company's own internal jobs, R1)."""
    customer = state.call_in.customer
    if not customer.is_someone:
        return None
    return ensure_customer(connection, customer, state.call_in.product.serial_no)


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


def project_step(connection: Connection, state: TicketState, *entries: TimelineEntry) -> None:
    """One step (or a few taken together) into the read model; older or repeated deliveries
    change nothing."""
    newest = connection.execute(
        update(TicketRecord)
        .where(col(TicketRecord.id) == state.ticket_id)
        .where(col(TicketRecord.seq) <= state.seq)
        .values(**ticket_values(state))
    ).rowcount
    if newest:
        _project_workshop(connection, state)
        project_escalations(connection, state.escalations)
        project_approvals(connection, state)
    _project_assignment(connection, state.ticket_id, state.technician)
    for entry in entries:
        upsert(connection, TimelineRecord, _entry_values(state, entry), ["ticket_id", "seq"])
        _project_parts(connection, state, entry)


def rebuild(connection: Connection, state: TicketState) -> None:
    """Writes a ticket's whole read model from its workflow's state: for a read model that
    was lost or damaged. Never moves a row backwards."""
    values = ticket_values(state)
    exists_already = connection.execute(
        select(col(TicketRecord.id)).where(col(TicketRecord.id) == state.ticket_id)
    ).first()
    if exists_already is None:
        registered_by = state.timeline[0].actor if state.timeline else "unknown"
        if "customer_id" not in values:
            values["customer_id"] = _customer_of(connection, state)
        connection.execute(
            insert(TicketRecord).values(
                id=state.ticket_id, number=state.number, registered_by=registered_by, **values
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
    project_approvals(connection, state)
    for entry in state.timeline:
        upsert(connection, TimelineRecord, _entry_values(state, entry), ["ticket_id", "seq"])
        _project_parts(connection, state, entry)
        if entry.action == "dispatch":
            _project_assignment(connection, state.ticket_id, entry.data.get("technician"))
    _project_assignment(connection, state.ticket_id, state.technician)


def _project_assignment(connection: Connection, ticket_id: str, technician: str | None) -> None:
    """R4: the technician stays among those who may read the ticket after a re-dispatch."""
    if technician is not None:
        insert_missing(
            connection,
            TicketTechnicianRecord,
            {"ticket_id": ticket_id, "technician": technician},
            ["ticket_id", "technician"],
        )


def _project_parts(connection: Connection, state: TicketState, entry: TimelineEntry) -> None:
    """R36: the part lines a resolution or a repair round used, with the product model."""
    if entry.action not in USING_PARTS:
        return
    for line, part in enumerate(entry.data.get("parts") or []):
        part_no = part.get("part_no") or part.get("name")
        if part_no:
            values = {
                "ticket_id": state.ticket_id,
                "seq": entry.seq,
                "line": line,
                "part_no": str(part_no)[:200],
                "qty": int(part.get("qty", 1)),
                "product_model": state.call_in.product.model,
                "branch": state.branch,
                "used_at": entry.at,
            }
            insert_missing(connection, PartUsageRecord, values, ["ticket_id", "seq", "line"])


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


def _entry_values(state: TicketState, entry: TimelineEntry) -> dict[str, Any]:
    return {
        "ticket_id": state.ticket_id,
        "seq": entry.seq,
        "at": entry.at,
        "action": entry.action,
        "actor": entry.actor,
        "data": entry.data,
    }
