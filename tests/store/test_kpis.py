"""R30, R36: the KPIs of a week over a fixture of tickets whose every figure was worked out by
hand (in the comments), on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from models.kpis import GroupBy, GroupKpis
from models.tables import (
    ApprovalRecord,
    ComplaintRecord,
    EscalationRecord,
    PartUsageRecord,
    SurveyRecord,
    TicketRecord,
)
from store.kpis import Period, kpis

pytestmark = pytest.mark.both_databases


def at(day: int, hour: float = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, tzinfo=UTC) + timedelta(hours=hour)


START, END, NOW = at(2), at(9), at(9, 10)  # the week of 2 to 8 November, asked on the 9th


def ticket(n: int, created: datetime, **fields: Any) -> TicketRecord:
    values: dict[str, Any] = {
        "id": f"t{n}",
        "number": f"T2026-{n:06d}",
        "seq": 1,
        "status": "registered",
        "service_type": "paid",
        "zone": "urban",
        "branch": "city",
        "customer_name": "Plant",
        "customer_phone": "021",
        "customer_address": "Road",
        "product_model": "FA-900",
        "problem": "broken",
        "channel": "phone",
        "registered_by": "clerk1",
        "created_at": created,
        "updated_at": created,
        "arrival_due_at": created + timedelta(hours=6),
    }
    return TicketRecord(**(values | fields))


def tickets() -> list[TicketRecord]:
    return [
        # met (arrived 2h in), fixed on the first visit
        ticket(
            1,
            at(2, 9),
            technician="a",
            status="closed",
            dispatches=1,
            arrived_at=at(2, 11),
            arrival_minutes=120,
            resolved_at=at(2, 12),
            resolution_minutes=180,
            ended_at=at(2, 12.1),
        ),
        # missed (arrived an hour late), dispatched twice, resolved
        ticket(
            2,
            at(3, 9),
            technician="a",
            status="resolved",
            dispatches=2,
            arrived_at=at(3, 16),
            arrival_minutes=420,
            resolved_at=at(4, 10),
            resolution_minutes=600,
        ),
        # met, carried in, still in the workshop: backlog 4 days 15 hours old
        ticket(
            3,
            at(4, 9),
            technician="b",
            status="carried_in",
            dispatches=1,
            arrived_at=at(4, 10),
            arrival_minutes=60,
            carried_in=True,
        ),
        # missed: nobody came by the deadline; backlog 3 days 15 hours old
        ticket(4, at(5, 9), technician="b", status="dispatched", dispatches=1),
        # within its deadline when asked: neither met nor missed; backlog 4 hours old
        ticket(5, at(8, 20), arrival_due_at=at(9, 12)),
        # the county's: met, fixed on the first visit
        ticket(
            6,
            at(6, 9),
            technician="c",
            status="closed",
            dispatches=1,
            zone="suburban",
            branch="county",
            product_model="FA-100",
            arrived_at=at(6, 10.5),
            arrival_minutes=90,
            resolved_at=at(6, 11.5),
            resolution_minutes=150,
            ended_at=at(6, 12),
        ),
        # cancelled before anyone came: counts in no deadline and no backlog
        ticket(7, at(2, 10), status="cancelled", ended_at=at(2, 11)),
        # called in before the week and unresolved at its end: backlog 20 days old
        ticket(8, at(20, 9, month=10)),
        # called in before the week, resolved after it: backlog at the end, 15 days old
        ticket(9, at(25, 0, month=10), status="resolved", resolved_at=at(10)),
    ]


def survey(ticket_id: str, answered: datetime, *ratings: int) -> SurveyRecord:
    attitude, skill, arrival_time, promise_keeping = ratings
    return SurveyRecord(
        ticket_id=ticket_id,
        ticket_number=ticket_id,
        workflow_id=f"survey-{ticket_id}",
        status="answered",
        service_type="paid",
        customer_name="Plant",
        customer_phone="021",
        product_model="FA-900",
        scheduled_for=answered,
        answered_at=answered,
        updated_at=answered,
        attitude=attitude,
        skill=skill,
        arrival_time=arrival_time,
        promise_keeping=promise_keeping,
    )


def escalation(ticket_id: str, kind: str, raised: datetime) -> EscalationRecord:
    return EscalationRecord(
        id=f"{ticket_id}-{kind}",
        kind=kind,
        ticket_id=ticket_id,
        workflow_id=ticket_id,
        owner_role="director",
        raised_at=raised,
    )


def approval(ticket_id: str, kind: str, status: str, requested: datetime) -> ApprovalRecord:
    return ApprovalRecord(
        id=f"{ticket_id}-{kind}",
        kind=kind,
        ticket_id=ticket_id,
        ticket_number=ticket_id,
        workflow_id=ticket_id,
        requested_by="clerk1",
        requested_at=requested,
        amount=Decimal("10.00"),
        reason="r",
        status=status,
    )


def used(
    ticket_id: str, part_no: str, qty: int, model: str, branch: str, when: datetime
) -> PartUsageRecord:
    return PartUsageRecord(
        ticket_id=ticket_id,
        seq=5,
        line=0,
        part_no=part_no,
        qty=qty,
        product_model=model,
        branch=branch,
        used_at=when,
    )


def fixture() -> list[SQLModel]:
    return [
        *tickets(),
        survey("t1", at(3), 4, 4, 3, 4),
        survey("t6", at(7), 3, 2, 2, 3),
        survey("t2", at(12), 1, 1, 1, 1),  # answered after the week
        ComplaintRecord(
            id="C1",
            ticket_id="t2",
            ticket_number="t2",
            workflow_id="c1",
            customer_name="P",
            customer_phone="021",
            product_model="FA-900",
            text="late",
            received_via="phone",
            recorded_by="clerk1",
            received_at=at(5),
            status="open",
            updated_at=at(5),
        ),
        escalation("t2", "arrival_overdue", at(3, 15)),
        escalation("t4", "arrival_warning", at(5, 14)),
        escalation("t4", "arrival_overdue", at(5, 15)),
        escalation("t8", "arrival_overdue", at(21, month=10)),  # before the week
        approval("t1", "discount", "approved", at(2, 11)),
        approval("t2", "low_margin", "pending", at(4, 9)),
        # R36: the parts the projection lists for each resolution and repair round
        used("t3", "PUMP-1", 2, "FA-900", "city", at(5)),
        used("t1", "PUMP-1", 1, "FA-900", "city", at(2, 12)),
        used("t6", "FUSE", 3, "FA-100", "county", at(6, 11.5)),
        used("t9", "FUSE", 1, "FA-900", "city", at(10)),  # after the week
    ]


@pytest.fixture
def week(engine: Engine) -> Engine:
    with Session(engine) as db:
        rows = fixture()
        db.add_all([row for row in rows if isinstance(row, TicketRecord)])
        db.flush()
        db.add_all([row for row in rows if not isinstance(row, TicketRecord)])
        db.commit()
    return engine


def figures(engine: Engine, group_by: GroupBy | None = None, branch: str | None = None) -> Any:
    with Session(engine) as db:
        return kpis(db, Period(START, END, NOW, branch), group_by)


def test_the_weeks_figures_are_the_hand_computed_ones(week: Engine) -> None:
    [everyone], defects = figures(week)
    assert everyone.tickets == 7  # t1 to t7
    # met: t1, t3, t6; missed: t2 (late), t4 (never came); t5 waits; t7 was cancelled
    assert (everyone.arrival_met, everyone.arrival_missed) == (3, 2)
    assert everyone.arrival_compliance == 0.6
    # arrivals 60, 90, 120, 420 minutes: median by nearest rank the 2nd, p90 the 4th
    assert (everyone.time_to_arrive.count, everyone.time_to_arrive.median) == (4, 1.5)
    assert everyone.time_to_arrive.p90 == 7.0
    # resolutions 150, 180, 600 minutes
    spread = everyone.time_to_resolve
    assert (spread.count, spread.median, spread.p90) == (3, 3.0, 10.0)
    # resolved after a dispatch: t1, t2, t6; on the first visit: t1, t6
    assert (everyone.resolved_dispatched, everyone.first_visit_fixes) == (3, 2)
    assert everyone.first_visit_fix_rate == 0.6667
    # dispatched: t1, t2, t3, t4, t6; more than once: t2
    assert everyone.redispatch_rate == 0.2
    assert everyone.backlog == {
        "under_1_day": 1,  # t5
        "1_to_3_days": 0,
        "3_to_7_days": 2,  # t3, t4
        "over_7_days": 2,  # t8, t9
    }
    assert everyone.surveys_answered == 2
    assert everyone.satisfaction == {
        "attitude": 3.5,
        "skill": 3.0,
        "arrival_time": 2.5,
        "promise_keeping": 3.5,
    }
    assert (everyone.complaints, everyone.complaints_per_100_tickets) == (1, 14.29)
    assert everyone.escalations == {"arrival_overdue": 2, "arrival_warning": 1}
    assert everyone.approvals == {"discount": {"approved": 1}, "low_margin": {"pending": 1}}
    # R36: the pump in two repairs of the FA-900 (2 + 1), the fuse in one of the FA-100
    assert [(d.product_model, d.part, d.repairs, d.quantity) for d in defects] == [
        ("FA-900", "PUMP-1", 2, 3),
        ("FA-100", "FUSE", 1, 3),
    ]


def test_figures_by_branch_and_by_technician(week: Engine) -> None:
    by_branch: list[GroupKpis] = figures(week, GroupBy.BRANCH)[0]
    city, county = by_branch
    assert (city.group, city.tickets, county.group, county.tickets) == ("city", 6, "county", 1)
    assert (city.arrival_met, city.arrival_missed, county.arrival_met) == (2, 2, 1)
    assert city.complaints_per_100_tickets == 16.67
    assert county.satisfaction["skill"] == 2.0
    assert county.backlog == dict.fromkeys(county.backlog, 0)

    by_technician = {found.group: found for found in figures(week, GroupBy.TECHNICIAN)[0]}
    assert sorted(by_technician) == ["a", "all", "b", "c"]  # "all": nobody assigned yet
    assert by_technician["a"].redispatch_rate == 0.5
    assert by_technician["b"].time_to_arrive.median == 1.0
    assert by_technician["b"].backlog["3_to_7_days"] == 2


def test_a_branch_reads_only_its_own_tickets(week: Engine) -> None:
    [county], defects = figures(week, None, branch="county")
    assert (county.tickets, county.arrival_met, county.surveys_answered) == (1, 1, 1)
    assert county.complaints == 0
    assert [(d.product_model, d.part) for d in defects] == [("FA-100", "FUSE")]
