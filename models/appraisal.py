"""A technician's monthly appraisal (R24): the survey cards' ratings (R23) and the complaints
about their work (R25, R26), read from the read model.

A card counts in the month it was sent, with its answer whenever that came; a complaint in the
month it was received. Months are calendar months in the office's time zone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import Session, col, select

from models.complaint import Severity
from models.tables import ComplaintRecord, SurveyRecord

MONTH_PATTERN = r"^[1-9]\d{3}-(0[1-9]|1[0-2])$"
RATINGS = ("attitude", "skill", "arrival_time", "promise_keeping")


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


def month_bounds(month: str, timezone: str) -> tuple[datetime, datetime]:
    """The first instant of `month` ("YYYY-MM") and of the month after, in `timezone`, as UTC;
    ValueError if `month` is not one."""
    year, number = (int(part) for part in month.split("-"))
    zone = ZoneInfo(timezone)
    start = datetime(year, number, 1, tzinfo=zone)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _float(value: object) -> float | None:
    """An SQL average (a float on SQLite, a Decimal on PostgreSQL) as a float."""
    return None if value is None else float(str(value))


def monthly_appraisal(db: Session, technician: str, month: str, timezone: str) -> TechnicianMonthly:
    """R24: `technician`'s cards and complaints in `month` of the office calendar."""
    start, end = month_bounds(month, timezone)
    survey = SurveyRecord
    cards = db.exec(
        select(
            func.count(),
            func.count(col(survey.answered_at)),
            *(func.avg(getattr(survey, item)) for item in RATINGS),
        ).where(
            col(survey.technician) == technician,
            col(survey.sent_at) >= start,
            col(survey.sent_at) < end,
        )
    ).one()
    sent, answered = int(cards[0]), int(cards[1])
    means = [_float(cards[2 + i]) for i in range(len(RATINGS))]
    known = [mean for mean in means if mean is not None]
    averages = [None if mean is None else round(mean, 2) for mean in means]
    complaint = ComplaintRecord
    complaints, serious = db.exec(
        select(
            func.count(),
            func.count(col(complaint.severity)).filter(
                col(complaint.severity) == Severity.SERIOUS.value
            ),
        ).where(
            col(complaint.technician) == technician,
            col(complaint.received_at) >= start,
            col(complaint.received_at) < end,
        )
    ).one()
    return TechnicianMonthly(
        technician=technician,
        month=month,
        cards_sent=sent,
        cards_answered=answered,
        response_rate=round(answered / sent, 4) if sent else None,
        averages=RatingAverages(**dict(zip(RATINGS, averages, strict=True))),
        overall=round(sum(known) / len(known), 2) if known else None,
        complaints=complaints,
        serious_complaints=serious,
    )
