"""The survey card (R22, R23): its four rated items, the customer's answer and the state of
the `Survey` workflow. Plain data and pydantic validation, safe in the workflow sandbox."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from models.followup import SurveyStart

MAX_REMARK = 2000
CARD = "card"
REMINDER = "reminder"


class SurveyStatus(StrEnum):
    SCHEDULED = "scheduled"
    SENT = "sent"
    ANSWERED = "answered"
    EXPIRED = "expired"


@dataclass(frozen=True)
class RatedItem:
    """One of the card's four items (R23): its field name, the question and its four levels,
    best (4) first."""

    name: str
    question: str
    levels: tuple[tuple[int, str], ...]


# R23: the technician is rated on four items, each on four levels.
ITEMS: tuple[RatedItem, ...] = (
    RatedItem(
        "attitude",
        "Was the technician polite and helpful?",
        ((4, "Very satisfied"), (3, "Satisfied"), (2, "Dissatisfied"), (1, "Very dissatisfied")),
    ),
    RatedItem(
        "skill",
        "How well was the repair done?",
        ((4, "Excellent"), (3, "Good"), (2, "Fair"), (1, "Poor")),
    ),
    RatedItem(
        "arrival_time",
        "Did the technician arrive on time?",
        ((4, "On time"), (3, "Slightly late"), (2, "Late"), (1, "Very late")),
    ),
    RatedItem(
        "promise_keeping",
        "Did the technician keep what was promised (time, price, work)?",
        (
            (4, "Kept every promise"),
            (3, "Kept most promises"),
            (2, "Broke some promises"),
            (1, "Broke promises"),
        ),
    ),
)


@dataclass
class SurveyAnswer:
    """The `answer` update's input: the four ratings (1–4) and the customer's free text."""

    attitude: int
    skill: int
    arrival_time: int
    promise_keeping: int
    comment: str | None = None
    complaint: str | None = None


def _blank_is_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value.strip() if isinstance(value, str) else value


def _no_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a rating is a number from 1 to 4")
    return value


Rating = Annotated[int, BeforeValidator(_no_bool), Field(ge=1, le=4)]
Remark = Annotated[
    Annotated[str, Field(max_length=MAX_REMARK)] | None, BeforeValidator(_blank_is_none)
]


class SurveyAnswerIn(BaseModel):
    """A survey answer as a customer sends it: each rating 1 (worst) to 4 (best); comment and
    complaint optional, at most 2000 characters, blank meaning none."""

    model_config = ConfigDict(extra="forbid")

    attitude: Rating
    skill: Rating
    arrival_time: Rating
    promise_keeping: Rating
    comment: Remark = None
    complaint: Remark = None

    def answer(self) -> SurveyAnswer:
        return SurveyAnswer(**self.model_dump())


def checked_answer(answer: SurveyAnswer | dict[str, Any]) -> SurveyAnswer:
    """The answer with blank texts as None; raises pydantic's ValidationError naming each
    field that is out of range or too long."""
    data = asdict(answer) if isinstance(answer, SurveyAnswer) else answer
    return SurveyAnswerIn.model_validate(data).answer()


def answer_errors(invalid: ValidationError) -> list[dict[str, Any]]:
    """The validation errors as `{loc, msg, type}`: the field and the rule, never the value."""
    return [
        {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
        for error in invalid.errors(include_url=False, include_context=False, include_input=False)
    ]


@dataclass
class SurveyState:
    """All of a `Survey` workflow's state, also what the `surveys` row is projected from."""

    start: SurveyStart
    workflow_id: str
    scheduled_for: datetime
    updated_at: datetime
    status: SurveyStatus = SurveyStatus.SCHEDULED
    token: str | None = None
    channels: list[str] = field(default_factory=list)
    """The channels the card reached (`email`, `sms`)."""
    sent_at: datetime | None = None
    reminded_at: datetime | None = None
    expires_at: datetime | None = None
    answered_at: datetime | None = None
    answer: SurveyAnswer | None = None
    complaint_workflow_id: str | None = None
    """The workflow of the complaint this answer carried (R25, R26)."""
    complaint_id: str | None = None
    """That complaint's number, once it is registered."""


def survey_link(public_url: str, token: str) -> str:
    """The customer's secret link to the card."""
    return f"{public_url.rstrip('/')}/surveys/{token}"


def token_digest(token: str) -> str:
    """What the read model keeps of a link's token (SHA-256, hex): enough to find the card
    a link opens, never enough to make the link."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class SurveyNotice:
    """What the card's (or its reminder's) messages are written from."""

    start: SurveyStart
    token: str
    occasion: str
    """`card` or `reminder`."""
    open_hours: float
    """How long the link stays open from now."""


def status_at(status: str, expires_at: datetime | None, now: datetime) -> SurveyStatus:
    """A card's status at `now`: past its expiry it is expired, even before its workflow says."""
    current = SurveyStatus(status)
    if current is SurveyStatus.SENT and expires_at is not None and expires_at <= now:
        return SurveyStatus.EXPIRED
    return current
