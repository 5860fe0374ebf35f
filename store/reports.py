"""Reports from the read model: a technician's monthly appraisal (R24), from the survey cards'
ratings (R23) and the complaints about their work (R25, R26).

A card counts in the month it was sent, with its answer whenever that came; a complaint in the
month it was received.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from models.complaint import Severity
from models.survey import ITEMS
from models.tables import ComplaintRecord, SurveyRecord


@dataclass(frozen=True)
class MonthlyFigures:
    """R24: what a month of one technician's work adds up to."""

    cards_sent: int
    cards_answered: int
    averages: dict[str, float | None]
    """Each survey item's mean (1-4) over the answered cards; None without answers."""
    complaints: int
    serious_complaints: int


def _float(value: object) -> float | None:
    """An SQL average (a float on SQLite, a Decimal on PostgreSQL) as a float."""
    return None if value is None else float(str(value))


def monthly_figures(
    session: Session, technician: str, start: datetime, end: datetime
) -> MonthlyFigures:
    """R24: `technician`'s cards sent and complaints received in [start, end)."""
    items = [item.name for item in ITEMS]
    survey = SurveyRecord
    cards = session.exec(
        select(
            func.count(),
            func.count(col(survey.answered_at)),
            *(func.avg(getattr(survey, item)) for item in items),
        ).where(
            col(survey.technician) == technician,
            col(survey.sent_at) >= start,
            col(survey.sent_at) < end,
        )
    ).one()
    complaint = ComplaintRecord
    complaints, serious = session.exec(
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
    return MonthlyFigures(
        cards_sent=int(cards[0]),
        cards_answered=int(cards[1]),
        averages={item: _float(cards[2 + i]) for i, item in enumerate(items)},
        complaints=int(complaints),
        serious_complaints=int(serious),
    )
