"""Reports as clients read them: a technician's monthly appraisal (R24), the KPIs (R30, R36)."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.base import Request
from models.kpis import GroupBy, GroupKpis
from models.survey import ITEMS
from models.what_if import Comparison, Outcome, Summary
from store.reports import MonthlyFigures

MONTH_PATTERN = r"^[1-9]\d{3}-(0[1-9]|1[0-2])$"


class RatingAverages(BaseModel):
    """R23: the mean of each item (1–4) over the answered cards; null without answers."""

    attitude: float | None
    skill: float | None
    arrival_time: float | None
    promise_keeping: float | None


class TechnicianMonthly(BaseModel):
    technician: str
    month: str
    cards_sent: int
    cards_answered: int
    response_rate: float | None
    """Answered cards over sent cards, rounded to 4 places; null when none was sent."""
    averages: RatingAverages
    overall: float | None
    """The mean of the four items' averages; null without answers."""
    complaints: int
    serious_complaints: int

    @classmethod
    def of(cls, technician: str, month: str, figures: MonthlyFigures) -> TechnicianMonthly:
        """The appraisal of `figures`: averages to 2 places, the response rate to 4."""
        known = [mean for mean in figures.averages.values() if mean is not None]
        sent, answered = figures.cards_sent, figures.cards_answered
        return cls(
            technician=technician,
            month=month,
            cards_sent=sent,
            cards_answered=answered,
            response_rate=round(answered / sent, 4) if sent else None,
            averages=RatingAverages(
                **{
                    item: None if mean is None else round(mean, 2)
                    for item, mean in figures.averages.items()
                }
            ),
            overall=round(sum(known) / len(known), 2) if known else None,
            complaints=figures.complaints,
            serious_complaints=figures.serious_complaints,
        )


class SpreadPublic(BaseModel):
    """Working hours (the ticket's calendar): how many values, median and 90th percentile."""

    count: int
    median: float | None
    p90: float | None


class GroupKpisPublic(BaseModel):
    """One group's figures (models/kpis.py defines each)."""

    group: str
    tickets: int
    arrival_met: int
    arrival_missed: int
    arrival_compliance: float | None
    time_to_arrive_hours: SpreadPublic
    time_to_resolve_hours: SpreadPublic
    resolved_after_dispatch: int
    first_visit_fixes: int
    first_visit_fix_rate: float | None
    dispatched: int
    redispatched: int
    redispatch_rate: float | None
    backlog: dict[str, int]
    """Unresolved at the period's end (or now), by age: under_1_day, 1_to_3_days, 3_to_7_days,
    over_7_days."""
    surveys_answered: int
    satisfaction: dict[str, float | None]
    complaints: int
    complaints_per_100_tickets: float | None
    escalations: dict[str, int]
    approvals: dict[str, dict[str, int]]

    @classmethod
    def of(cls, found: GroupKpis) -> GroupKpisPublic:
        return cls(
            group=found.group,
            tickets=found.tickets,
            arrival_met=found.arrival_met,
            arrival_missed=found.arrival_missed,
            arrival_compliance=found.arrival_compliance,
            time_to_arrive_hours=SpreadPublic(**asdict(found.time_to_arrive)),
            time_to_resolve_hours=SpreadPublic(**asdict(found.time_to_resolve)),
            resolved_after_dispatch=found.resolved_dispatched,
            first_visit_fixes=found.first_visit_fixes,
            first_visit_fix_rate=found.first_visit_fix_rate,
            dispatched=found.dispatched,
            redispatched=found.redispatched,
            redispatch_rate=found.redispatch_rate,
            backlog=found.backlog,
            surveys_answered=found.surveys_answered,
            satisfaction=found.satisfaction or {item.name: None for item in ITEMS},
            complaints=found.complaints,
            complaints_per_100_tickets=found.complaints_per_100_tickets,
            escalations=found.escalations,
            approvals=found.approvals,
        )

    def csv_row(self) -> dict[str, object]:
        """The figures as one flat row: nested ones as `parent.child` columns."""
        row: dict[str, object] = {}
        for name, value in self.model_dump().items():
            if isinstance(value, dict):
                for key, inner in value.items():
                    if isinstance(inner, dict):
                        row |= {f"{name}.{key}.{k}": v for k, v in inner.items()}
                    else:
                        row[f"{name}.{key}"] = inner
            else:
                row[name] = value
        return row


class DefectPublic(BaseModel):
    """R36: how often a part was used in repairs of a product model."""

    product_model: str
    part: str
    repairs: int
    quantity: int


class KpiReport(BaseModel):
    """R30, R36: the period's figures per group, and the defects for the quality
    department."""

    period_from: date = Field(alias="from")
    period_to: date = Field(alias="to")
    group_by: GroupBy | None
    branch: str | None
    """The branch the figures are limited to; null: every branch."""
    groups: list[GroupKpisPublic]
    defects: list[DefectPublic]

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    def csv(self) -> str:
        """One row per group; the columns of every group (a kind of escalation or approval
        one group lacks is empty in its row)."""
        rows = [group.csv_row() for group in self.groups]
        columns = list(dict.fromkeys(column for row in rows for column in row))
        out = io.StringIO()
        writer = csv.DictWriter(out, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()


class WhatIfBody(Request):
    """A candidate policy (the TOML of a policy file) and the period of real tickets to try
    it on (office days, both included)."""

    policy: Annotated[str, Field(min_length=1, max_length=65_536)]
    period_from: date = Field(alias="from")
    period_to: date = Field(alias="to")
    branch: Annotated[str, Field(min_length=1, max_length=100)] | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class PolicyFigures(BaseModel):
    """One policy's figures over the period's tickets (R12-R16)."""

    tickets: int
    arrival_met: int
    arrival_missed: int
    arrival_compliance: float | None
    escalations: dict[str, int]
    """arrival_warning, arrival_overdue, carried_over, unresolved_same_day."""

    @classmethod
    def of(cls, summary: Summary) -> PolicyFigures:
        return cls(
            tickets=summary.tickets,
            arrival_met=summary.arrival_met,
            arrival_missed=summary.arrival_missed,
            arrival_compliance=summary.arrival_compliance,
            escalations=summary.escalations,
        )


class OutcomePublic(BaseModel):
    arrival_due_at: datetime | None
    arrival: str
    """met, missed, pending (still within it) or none."""
    escalations: list[str]

    @classmethod
    def of(cls, outcome: Outcome) -> OutcomePublic:
        return cls(
            arrival_due_at=outcome.due_at,
            arrival=outcome.arrival,
            escalations=sorted(outcome.escalations),
        )


class ChangedTicket(BaseModel):
    ticket_id: str
    actual: OutcomePublic
    candidate: OutcomePublic


class WhatIfReport(BaseModel):
    """What happened beside what the candidate policy would have made of the same tickets;
    nothing about any ticket changes."""

    period_from: date = Field(alias="from")
    period_to: date = Field(alias="to")
    branch: str | None
    actual: PolicyFigures
    candidate: PolicyFigures
    changed: list[ChangedTicket]
    """The tickets the candidate treats differently (the first 500)."""
    changed_count: int

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    @classmethod
    def of(
        cls, period_from: date, period_to: date, branch: str | None, comparison: Comparison
    ) -> WhatIfReport:
        return cls(
            period_from=period_from,
            period_to=period_to,
            branch=branch,
            actual=PolicyFigures.of(comparison.actual),
            candidate=PolicyFigures.of(comparison.candidate),
            changed=[
                ChangedTicket(
                    ticket_id=changed.ticket_id,
                    actual=OutcomePublic.of(changed.actual),
                    candidate=OutcomePublic.of(changed.candidate),
                )
                for changed in comparison.changed[:500]
            ],
            changed_count=len(comparison.changed),
        )
