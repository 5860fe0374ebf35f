"""The KPIs of a period (R30, R36) in SQL on the read model, grouped by branch, zone,
technician or service type; what each figure means is models/kpis.py.

Each family of figures is one grouped query (percentiles by window functions, nearest rank),
portable between SQLite and PostgreSQL; the instants they read are the ticket's milestones
(models/tables.py), indexed with the call-in time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, or_
from sqlmodel import Session, col, select

from models.kpis import (
    AGE_BUCKETS,
    ALL,
    Defect,
    GroupBy,
    GroupKpis,
    Spread,
    median_rank,
    p90_rank,
)
from models.survey import ITEMS
from models.tables import (
    ApprovalRecord,
    ComplaintRecord,
    EscalationRecord,
    PartUsageRecord,
    SurveyRecord,
    TicketRecord,
)

T = TicketRecord


def _key(group_by: GroupBy | None) -> Any:
    if group_by is None:
        return literal(ALL)
    return col(getattr(T, group_by.value))


def _name(value: object) -> str:
    return ALL if value is None else str(value)


class Period:
    """[start, end) and what the figures are limited to (a branch)."""

    def __init__(self, start: datetime, end: datetime, now: datetime, branch: str | None) -> None:
        self.start, self.end, self.now, self.branch = start, end, now, branch

    def scope(self) -> list[Any]:
        return [] if self.branch is None else [col(T.branch) == self.branch]

    def called_in(self) -> list[Any]:
        return [col(T.created_at) >= self.start, col(T.created_at) < self.end, *self.scope()]

    def within(self, instant: Any) -> list[Any]:
        return [col(instant) >= self.start, col(instant) < self.end, *self.scope()]


def kpis(
    session: Session, period: Period, group_by: GroupBy | None
) -> tuple[list[GroupKpis], list[Defect]]:
    """Every group's figures for the period, by group name; and the defects (R36)."""
    key = _key(group_by)
    groups: dict[str, GroupKpis] = {}

    def group(value: object) -> GroupKpis:
        name = _name(value)
        return groups.setdefault(name, GroupKpis(name))

    _tickets(session, period, key, group)
    if session.get_bind().dialect.name != "postgresql":  # PostgreSQL has them from _tickets
        _spread(session, period, key, col(T.arrival_minutes), group, "time_to_arrive")
        _spread(session, period, key, col(T.resolution_minutes), group, "time_to_resolve")
    _backlog(session, period, key, group)
    _satisfaction(session, period, key, group)
    _complaints(session, period, key, group)
    _escalations(session, period, key, group)
    _approvals(session, period, key, group)
    return sorted(groups.values(), key=lambda found: found.group), _defects(session, period)


def _count_if(*conditions: Any) -> Any:
    return func.sum(case((and_(*conditions), 1), else_=0))


def _tickets(session: Session, period: Period, key: Any, group: Any) -> None:
    due, arrived = col(T.arrival_due_at), col(T.arrived_at)
    columns = [
        key,
        func.count(),
        _count_if(due.is_not(None), arrived.is_not(None), arrived <= due),
        _count_if(
            due.is_not(None),
            or_(arrived > due, and_(arrived.is_(None), due < period.now)),
            # cancelled before anyone arrived: nobody was late
            or_(arrived.is_not(None), col(T.status) != "cancelled"),
        ),
        _count_if(col(T.resolved_at).is_not(None), col(T.dispatches) > 0),
        _count_if(
            col(T.resolved_at).is_not(None),
            col(T.dispatches) == 1,
            col(T.carried_in).is_(False),
        ),
        _count_if(col(T.dispatches) > 0),
        _count_if(col(T.dispatches) > 1),
    ]
    spreads = session.get_bind().dialect.name == "postgresql"
    if spreads:  # in the same scan: nearest-rank percentiles are PostgreSQL's percentile_disc
        for minutes in (col(T.arrival_minutes), col(T.resolution_minutes)):
            columns += [
                func.count(minutes),
                func.percentile_disc(0.5).within_group(minutes),
                func.percentile_disc(0.9).within_group(minutes),
            ]
    rows = session.exec(select(*columns).where(*period.called_in()).group_by(key))
    for value, tickets, met, missed, resolved, first, dispatched, again, *picked in rows:
        found = group(value)
        found.tickets, found.arrival_met, found.arrival_missed = tickets, met or 0, missed or 0
        found.resolved_dispatched, found.first_visit_fixes = resolved or 0, first or 0
        found.dispatched, found.redispatched = dispatched or 0, again or 0
        if spreads:
            arrive, resolve = picked[:3], picked[3:]
            found.time_to_arrive = Spread(arrive[0], _hours(arrive[1]), _hours(arrive[2]))
            found.time_to_resolve = Spread(resolve[0], _hours(resolve[1]), _hours(resolve[2]))


def _spread(
    session: Session, period: Period, key: Any, minutes: Any, group: Any, name: str
) -> None:
    """Median and 90th percentile (nearest rank) of `minutes`, in hours, per group, by
    window functions (SQLite has no percentile aggregate)."""
    ranked = (
        select(
            key.label("g"),
            minutes.label("v"),
            func.row_number().over(partition_by=key, order_by=minutes).label("r"),
            func.count().over(partition_by=key).label("n"),
        )
        .where(minutes.is_not(None), *period.called_in())
        .subquery()
    )
    n = ranked.c.n
    rows = session.exec(
        select(ranked.c.g, n, ranked.c.r, ranked.c.v).where(
            or_(ranked.c.r == (n + 1) // 2, ranked.c.r == (9 * n + 9) // 10)
        )
    )
    for value, count, rank, v in rows:
        spread: Spread = getattr(group(value), name)
        spread.count = count
        if rank == median_rank(count):
            spread.median = _hours(v)
        if rank == p90_rank(count):
            spread.p90 = _hours(v)


def _hours(minutes: int | None) -> float | None:
    return None if minutes is None else round(minutes / 60, 2)


def _backlog(session: Session, period: Period, key: Any, group: Any) -> None:
    """Tickets unresolved at the period's end (or now, before it ends), whenever called in,
    by age."""
    end, created = min(period.end, period.now), col(T.created_at)
    bucket = case(
        *((created > end - bound, name) for name, bound in AGE_BUCKETS if bound is not None),
        else_=AGE_BUCKETS[-1][0],
    )
    rows = session.exec(
        select(key, bucket, func.count())
        .where(
            created < end,
            or_(col(T.resolved_at).is_(None), col(T.resolved_at) >= end),
            or_(col(T.ended_at).is_(None), col(T.ended_at) >= end),
            *period.scope(),
        )
        .group_by(key, bucket)
    )
    for value, name, count in rows:
        group(value).backlog[name] = count


def _satisfaction(session: Session, period: Period, key: Any, group: Any) -> None:
    s = SurveyRecord
    items = [item.name for item in ITEMS]
    rows = session.exec(
        select(key, func.count(), *(func.avg(getattr(s, item)) for item in items))
        .select_from(s)
        .join(T, col(T.id) == col(s.ticket_id))
        .where(*period.within(s.answered_at))
        .group_by(key)
    )
    for value, answered, *means in rows:
        found = group(value)
        found.surveys_answered = answered
        found.satisfaction = {
            item: None if mean is None else round(float(str(mean)), 2)
            for item, mean in zip(items, means, strict=True)
        }


def _complaints(session: Session, period: Period, key: Any, group: Any) -> None:
    c = ComplaintRecord
    rows = session.exec(
        select(key, func.count())
        .select_from(c)
        .join(T, col(T.id) == col(c.ticket_id))
        .where(*period.within(c.received_at))
        .group_by(key)
    )
    for value, count in rows:
        group(value).complaints = count


def _escalations(session: Session, period: Period, key: Any, group: Any) -> None:
    e = EscalationRecord
    rows = session.exec(
        select(key, col(e.kind), func.count())
        .select_from(e)
        .join(T, col(T.id) == col(e.ticket_id))
        .where(*period.within(e.raised_at))
        .group_by(key, col(e.kind))
    )
    for value, kind, count in rows:
        group(value).escalations[kind] = count


def _approvals(session: Session, period: Period, key: Any, group: Any) -> None:
    a = ApprovalRecord
    rows = session.exec(
        select(key, col(a.kind), col(a.status), func.count())
        .select_from(a)
        .join(T, col(T.id) == col(a.ticket_id))
        .where(*period.within(a.requested_at))
        .group_by(key, col(a.kind), col(a.status))
    )
    for value, kind, status, count in rows:
        group(value).approvals.setdefault(kind, {})[status] = count


def _defects(session: Session, period: Period) -> list[Defect]:
    """R36: the parts used in repairs recorded in the period (on-site resolutions and
    workshop rounds), by product model and part, the most often used first."""
    u = PartUsageRecord
    query = (
        select(col(u.product_model), col(u.part_no), func.count(), func.sum(col(u.qty)))
        .where(col(u.used_at) >= period.start, col(u.used_at) < period.end)
        .group_by(col(u.product_model), col(u.part_no))
    )
    if period.branch is not None:
        query = query.where(col(u.branch) == period.branch)
    return sorted(
        (Defect(model, part, int(n), int(qty)) for model, part, n, qty in session.exec(query)),
        key=lambda defect: (-defect.repairs, defect.product_model, defect.part),
    )
