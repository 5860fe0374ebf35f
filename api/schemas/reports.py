"""Reports as clients read them: a technician's monthly appraisal (R24)."""

from __future__ import annotations

from pydantic import BaseModel

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
