"""The survey card as a customer's link shows it (R22, R23)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from models.survey import SurveyStatus


class RatingLevelPublic(BaseModel):
    value: int
    label: str


class RatedItemPublic(BaseModel):
    name: str
    question: str
    levels: list[RatingLevelPublic]
    """Best (4) first."""


class SurveyCardPublic(BaseModel):
    """What a customer's survey link shows (`GET /surveys/{token}`)."""

    ticket_number: str
    technician: str | None
    product_model: str
    status: SurveyStatus
    sent_at: datetime | None
    expires_at: datetime | None
    answered_at: datetime | None
    items: list[RatedItemPublic]
