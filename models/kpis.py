"""The KPIs of a period (R30, R36), as the department reads them: what each figure counts, how
it is grouped, and how a distribution is summed up. store/kpis.py computes them in SQL on the
read model; the API and the console show them.

Definitions (every figure is over the tickets called in during the period unless it says):
- arrival compliance: of the tickets with an arrival deadline, those reached by their first
  arrival (met) against those arrived late or still waiting past it (missed); tickets still
  within their deadline count in neither;
- time to arrive and to resolve: working hours (the ticket's own calendar) from the call-in to
  the first arrival and to the resolution, median and 90th percentile by nearest rank;
- first-visit fix: of the resolved tickets that were dispatched, those resolved on the first
  visit: one dispatch, never carried in;
- re-dispatch: of the dispatched tickets, those dispatched more than once;
- backlog: tickets unresolved at the end of the period (or now, if it has not ended),
  whenever called in, by age;
- satisfaction: the survey cards answered in the period, each item's mean (1-4, R23);
- complaints received in the period, per 100 tickets called in;
- escalations raised and approvals requested in the period, by kind (and decision);
- defects (R36): parts used in repairs recorded in the period, by product model and part.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum


class GroupBy(StrEnum):
    BRANCH = "branch"
    ZONE = "zone"
    TECHNICIAN = "technician"
    SERVICE_TYPE = "service_type"


ALL = "all"
"""The group's name when the figures are not grouped."""

AGE_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("under_1_day", timedelta(days=1)),
    ("1_to_3_days", timedelta(days=3)),
    ("3_to_7_days", timedelta(days=7)),
    ("over_7_days", None),
)
"""A backlog ticket's age at the period's end: under each bound, in order; the last unbounded."""


def median_rank(count: int) -> int:
    """The nearest rank (1-based) of the median among `count` ordered values."""
    return (count + 1) // 2


def p90_rank(count: int) -> int:
    """The nearest rank (1-based) of the 90th percentile: ceil(0.9 × count)."""
    return (9 * count + 9) // 10


def rate(part: int, whole: int) -> float | None:
    """`part` of `whole` as a fraction rounded to 4 places; None when there is no whole."""
    return round(part / whole, 4) if whole else None


@dataclass
class Spread:
    """A distribution in working hours: how many values, their median and 90th percentile."""

    count: int = 0
    median: float | None = None
    p90: float | None = None


@dataclass
class GroupKpis:
    """One group's figures for the period."""

    group: str
    tickets: int = 0
    arrival_met: int = 0
    arrival_missed: int = 0
    time_to_arrive: Spread = field(default_factory=Spread)
    time_to_resolve: Spread = field(default_factory=Spread)
    resolved_dispatched: int = 0
    first_visit_fixes: int = 0
    dispatched: int = 0
    redispatched: int = 0
    backlog: dict[str, int] = field(default_factory=lambda: {n: 0 for n, _ in AGE_BUCKETS})
    surveys_answered: int = 0
    satisfaction: dict[str, float | None] = field(default_factory=dict)
    complaints: int = 0
    escalations: dict[str, int] = field(default_factory=dict)
    approvals: dict[str, dict[str, int]] = field(default_factory=dict)
    """By kind (`discount`, `low_margin`, ...), then by status (`approved`, ...)."""

    @property
    def arrival_compliance(self) -> float | None:
        return rate(self.arrival_met, self.arrival_met + self.arrival_missed)

    @property
    def first_visit_fix_rate(self) -> float | None:
        return rate(self.first_visit_fixes, self.resolved_dispatched)

    @property
    def redispatch_rate(self) -> float | None:
        return rate(self.redispatched, self.dispatched)

    @property
    def complaints_per_100_tickets(self) -> float | None:
        return None if not self.tickets else round(100 * self.complaints / self.tickets, 2)


@dataclass(frozen=True)
class Defect:
    """R36: how often a part was used in repairs of a product model."""

    product_model: str
    part: str
    repairs: int
    quantity: int
