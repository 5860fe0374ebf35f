"""The read-model projection is idempotent and never goes backwards (R3, R11), on SQLite and
PostgreSQL."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from activities.projection import ProjectionActivities
from models.lifecycle import Status
from models.tables import TicketRecord, TimelineRecord
from models.ticket import (
    BillingTerms,
    CallIn,
    Customer,
    Product,
    Projection,
    TicketState,
    TimelineEntry,
)

# The database matters here: run on SQLite and on PostgreSQL.
pytestmark = pytest.mark.both_databases

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def new_state() -> TicketState:
    call_in = CallIn(Customer("Li", "138", "Road 1"), Product("TV", "SN"), "urban", "dark", "phone")
    terms = BillingTerms(Decimal("120.00"), Decimal("200.00"))
    return TicketState(uuid.uuid4().hex, call_in, "paid", terms, "fp", T0, T0, seq=1)


def step(state: TicketState, seq: int, status: Status, technician: str | None) -> Projection:
    at = T0 + timedelta(minutes=seq)
    later = replace(state, seq=seq, status=status, technician=technician, updated_at=at)
    return Projection(later, TimelineEntry(seq, at, "step", "someone", {"n": seq}))


def rows(engine: Engine, ticket_id: str) -> tuple[TicketRecord, list[TimelineRecord]]:
    with Session(engine) as db:
        ticket = db.get(TicketRecord, ticket_id)
        entries = db.exec(
            select(TimelineRecord)
            .where(col(TimelineRecord.ticket_id) == ticket_id)
            .order_by(col(TimelineRecord.seq))
        ).all()
    assert ticket is not None
    return ticket, list(entries)


def test_registration_delivered_twice_is_one_ticket_with_one_number(engine: Engine) -> None:
    projector, state = ProjectionActivities(engine), new_state()
    entry = TimelineEntry(1, T0, "call_in", "clerk1", {})
    first = projector.register_ticket(Projection(state, entry))
    second = projector.register_ticket(Projection(state, entry))
    assert first == second
    assert first.number == "T2026-000001" and first.service_type == "paid"  # R2: unknown serial
    ticket, timeline = rows(engine, state.ticket_id)
    assert ticket.number == first.number and len(timeline) == 1


def test_ticket_numbers_have_no_gaps_under_concurrency(engine: Engine) -> None:
    # R3: human-readable numbers, one per ticket, none skipped, even when registered at once.
    projector = ProjectionActivities(engine)
    states = [new_state() for _ in range(12)]
    entry = TimelineEntry(1, T0, "call_in", "clerk1", {})
    with ThreadPoolExecutor(6) as pool:
        numbers = list(
            pool.map(lambda s: projector.register_ticket(Projection(s, entry)).number, states)
        )
    assert sorted(numbers) == [f"T2026-{n:06d}" for n in range(1, 13)]


def test_duplicate_and_stale_steps_change_nothing(engine: Engine) -> None:
    projector, state = ProjectionActivities(engine), new_state()
    projector.register_ticket(Projection(state, TimelineEntry(1, T0, "call_in", "clerk1", {})))
    dispatch = step(state, 2, Status.DISPATCHED, "tech1")
    arrive = step(state, 3, Status.ON_SITE, "tech1")
    projector.project_step(dispatch)
    projector.project_step(arrive)
    projector.project_step(dispatch)  # a late, repeated delivery of an older step
    projector.project_step(arrive)
    ticket, timeline = rows(engine, state.ticket_id)
    assert ticket.status == "on_site" and ticket.seq == 3
    assert [(e.seq, e.data.get("n")) for e in timeline] == [(1, None), (2, 2), (3, 3)]
    assert ticket.updated_at == T0 + timedelta(minutes=3)
