"""The complaint lifecycle (R25, R26, A2): facts, the steps they allow, who may take each step,
and the steps' bodies. Pure: the `Complaint` workflow's validator decides with it and the API
shows the same `allowed_actions`.

A complaint is not a strict chain. It is triaged first (general or serious); a serious one is
reviewed by the VP before its written reply (R25); the reply and the visit (R26) may come in
either order; it closes only once both are recorded (R26: "cannot be closed without its visit").
`STEPS` holds that as data, one line per step, read by `refusal` and `allowed_actions`.

Statuses are derived from the facts, and never go back:
`open` → `triaged` → (`reviewed`, serious ones) → `replied` → `visited` → `closed`.
`visited` means the reply AND the visit are recorded (ready to close); a visit made before the
reply shows in the `visit` fact while the status still tells how far the reply has come.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from models.escalation import Escalation
from models.followup import ComplaintStart
from models.roles import Role
from models.ticket import TimelineEntry
from models.values import Text


class Severity(StrEnum):
    GENERAL = "general"
    SERIOUS = "serious"


class ComplaintStatus(StrEnum):
    OPEN = "open"
    TRIAGED = "triaged"
    REVIEWED = "reviewed"
    REPLIED = "replied"
    VISITED = "visited"
    CLOSED = "closed"


class Step(StrEnum):
    TRIAGE = "triage"
    VP_REVIEW = "vp_review"
    REPLY = "reply"
    VISIT = "visit"
    CLOSE = "close"


class ReplyMethod(StrEnum):
    LETTER = "letter"
    PHONE = "phone"


class ReceivedVia(StrEnum):
    SURVEY = "survey"
    PHONE = "phone"
    LETTER = "letter"
    EMAIL = "email"
    WALK_IN = "walk_in"


@dataclass(frozen=True)
class Facts:
    """What has happened to a complaint; everything the lifecycle decides from."""

    severity: str | None = None
    reviewed: bool = False
    replied: bool = False
    visited: bool = False
    closed: bool = False

    @property
    def serious(self) -> bool:
        return self.severity == Severity.SERIOUS


R = Role
SERVICE_DEPARTMENT = frozenset({R.DIRECTOR, R.MANAGER, R.CLERK, R.ADMIN})


@dataclass(frozen=True)
class StepRule:
    """One step: when it is possible (`blocked` says why not, or None) and who may take it."""

    step: Step
    blocked: Callable[[Facts], str | None]
    roles: Callable[[Facts], frozenset[Role]]


def _fixed(*roles: Role) -> Callable[[Facts], frozenset[Role]]:
    allowed = frozenset(roles)
    return lambda facts: allowed


def _triage_blocked(facts: Facts) -> str | None:
    return "the complaint is already triaged" if facts.severity else None


def _review_blocked(facts: Facts) -> str | None:
    if facts.severity is None:
        return "the complaint is not triaged yet"
    if not facts.serious:
        return "only a serious complaint goes to the VP (R25)"
    return "the VP has already reviewed it" if facts.reviewed else None


def _reply_blocked(facts: Facts) -> str | None:
    if facts.severity is None:
        return "the complaint is not triaged yet"
    if facts.replied:
        return "the customer has already been replied to"
    if facts.serious and not facts.reviewed:
        return "a serious complaint needs the VP's review before the reply (R25)"
    return None


def _reply_roles(facts: Facts) -> frozenset[Role]:
    # R25: the VP's outcome for a serious one; the service department for a general one.
    return frozenset({R.VP, R.DIRECTOR, R.ADMIN}) if facts.serious else SERVICE_DEPARTMENT


def _visit_blocked(facts: Facts) -> str | None:
    if facts.severity is None:
        return "the complaint is not triaged yet"
    return "the visit is already recorded" if facts.visited else None


def _close_blocked(facts: Facts) -> str | None:
    missing = [
        what for what, done in (("visit", facts.visited), ("reply", facts.replied)) if not done
    ]
    if missing:
        return f"a complaint cannot be closed without its {' and '.join(missing)} (R25, R26)"
    return None


# The lifecycle as data, in the order the steps usually come. Every step needs an open complaint.
STEPS: tuple[StepRule, ...] = (
    StepRule(Step.TRIAGE, _triage_blocked, _fixed(R.DIRECTOR, R.ADMIN)),
    StepRule(Step.VP_REVIEW, _review_blocked, _fixed(R.VP)),
    StepRule(Step.REPLY, _reply_blocked, _reply_roles),
    StepRule(Step.VISIT, _visit_blocked, _fixed(R.DIRECTOR, R.MANAGER, R.ADMIN)),
    StepRule(Step.CLOSE, _close_blocked, _fixed(R.DIRECTOR, R.ADMIN)),
)
RULES = {rule.step.value: rule for rule in STEPS}
# Whoever may take a step on some complaint; the API's first check before asking the workflow.
ANY_ROLES: dict[str, frozenset[Role]] = {
    rule.step.value: rule.roles(Facts(Severity.GENERAL)) | rule.roles(Facts(Severity.SERIOUS))
    for rule in STEPS
}
# Who may record a complaint received by phone, letter, email or in person (R26).
RECORDING_ROLES = frozenset({R.CLERK, R.DISPATCHER, R.DIRECTOR, R.ADMIN})


def blocked(step: str, facts: Facts) -> str | None:
    """Why `step` is not possible on a complaint with `facts` now, or None when it is."""
    rule = RULES.get(step)
    if rule is None:
        return f"there is no step '{step}'"
    if facts.closed:
        return "the complaint is closed"
    return rule.blocked(facts)


def allowed_actions(facts: Facts) -> list[str]:
    """The steps possible on a complaint with `facts`, in the table's order."""
    return [rule.step.value for rule in STEPS if blocked(rule.step, facts) is None]


def missing_role(step: str, roles: Iterable[str], facts: Facts) -> str | None:
    """Why a user with `roles` may not take `step` on this complaint, or None if they may."""
    allowed = RULES[step].roles(facts)
    if allowed.intersection(roles):
        return None
    kind = f"a {facts.severity} complaint" if step == Step.REPLY else "a complaint"
    return f"'{step}' on {kind} needs the role {' or '.join(sorted(allowed))}"


def status_of(facts: Facts) -> ComplaintStatus:
    """The status shown for `facts` (see the module's docstring)."""
    if facts.closed:
        return ComplaintStatus.CLOSED
    if facts.severity is None:
        return ComplaintStatus.OPEN
    if facts.replied:
        return ComplaintStatus.VISITED if facts.visited else ComplaintStatus.REPLIED
    return ComplaintStatus.REVIEWED if facts.reviewed else ComplaintStatus.TRIAGED


# Step bodies, validated by the API and again by the workflow's update validator.
class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TriageBody(_Body):
    severity: Severity
    note: Text | None = None


class VpReviewBody(_Body):
    decision: Text
    notes: Text | None = None


class ReplyBody(_Body):
    method: ReplyMethod
    """R25: `letter` or `phone` for a general complaint; a serious one is told in writing."""
    text: Text


class VisitBody(_Body):
    visited_by: Text
    """R26: the service director or the person they designated."""
    visited_at: AwareDatetime
    outcome: Text


class CloseBody(_Body):
    note: Text | None = None


STEP_BODIES: dict[str, type[_Body]] = {
    Step.TRIAGE: TriageBody,
    Step.VP_REVIEW: VpReviewBody,
    Step.REPLY: ReplyBody,
    Step.VISIT: VisitBody,
    Step.CLOSE: CloseBody,
}


# The workflow's state and messages: plain dataclasses, safe in the workflow sandbox.
@dataclass
class ComplaintAction:
    """The `act` update: one step by one person."""

    action: str
    actor: str
    roles: list[str]
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Registered:
    """What registration decided: the number and the A2 repeat check."""

    complaint_id: str
    repeated: bool = False
    previous_complaint_id: str | None = None


@dataclass
class RegisteredRequest:
    """The `registered` update: waits until the complaint has its number."""


@dataclass
class ComplaintState:
    """All of a complaint's durable state."""

    workflow_id: str
    start: ComplaintStart
    updated_at: datetime
    complaint_id: str | None = None
    repeated: bool = False
    previous_complaint_id: str | None = None
    severity: str | None = None
    triage: dict[str, Any] | None = None
    vp_review: dict[str, Any] | None = None
    reply: dict[str, Any] | None = None
    visit: dict[str, Any] | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    escalations: list[Escalation] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)
    seq: int = 0

    @property
    def facts(self) -> Facts:
        return facts_of(self.severity, self.vp_review, self.reply, self.visit, self.closed_at)

    @property
    def status(self) -> ComplaintStatus:
        return status_of(self.facts)


def facts_of(
    severity: str | None,
    vp_review: object | None,
    reply: object | None,
    visit: object | None,
    closed_at: datetime | None,
) -> Facts:
    """The facts of a complaint from its recorded steps (the workflow's state or its row)."""
    return Facts(
        severity=severity,
        reviewed=vp_review is not None,
        replied=reply is not None,
        visited=visit is not None,
        closed=closed_at is not None,
    )
