"""Approvals with authority limits (R17–R20): one model for every decision a supervisor makes
on a running ticket — a discount beyond the advisor's limits, a low margin, parts beyond the
accepted quotation, a warranty-claim order and its countersignature.

The ticket's workflow records the request, waits durably for the decision (the `decide`
update), and carries on with it. Who decides is policy data, frozen on the ticket at call-in:
per kind, amount bands name the deciding role; undecided past the policy's working hours, an
approval goes up the chain (clerk → manager → director → VP), the next role may decide too,
and an `approval_overdue` escalation tells it so (R16). Pure: safe in the workflow sandbox.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from models.refusals import CONFLICT, FORBIDDEN, NOT_FOUND, refuse


class ApprovalKind(StrEnum):
    DISCOUNT = "discount"
    """R17: a discount beyond the advisor's percentage or weekly count."""
    LOW_MARGIN = "low_margin"
    """R18: a job invoiced below the minimum gross margin, with its written justification."""
    ADDED_PARTS = "added_parts"
    """R19: parts beyond the accepted quotation, before they are issued."""
    WARRANTY_CLAIM = "warranty_claim"
    """R19: a warranty-claim order (parts issued to a warranty job): the workshop manager."""
    WARRANTY_COUNTERSIGN = "warranty_countersign"
    """R19: a warranty-claim order above the policy's amount: the after-sales director too."""


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


DECIDE_UPDATE = "decide"


@dataclass
class Band:
    """Up to `up_to` (None: any amount) the approval is `role`'s to decide."""

    role: str
    up_to: Decimal | None = None


@dataclass
class ApprovalTerms:
    """R17–R20: the rules of money a ticket is called in with; a later policy change does not
    touch a ticket already open, nor a pending approval's approver."""

    bands: dict[str, list[Band]]
    chain: list[str]
    """Who is above whom: an undecided approval goes to the next role."""
    escalate_after_hours: float
    """Working hours (the ticket's calendar) an approval may wait before it goes up."""
    discount_max_percent: Decimal
    discounts_per_week: int
    min_gross_margin: Decimal
    labour_cost_per_hour: Decimal
    quotation_for: list[str]
    """Service types whose workshop repairs wait for an accepted quotation (R19)."""
    diagnosis_fee: Decimal
    """What a declined quotation costs the customer (R19)."""
    countersign_above: Decimal
    """A warranty-claim order above this needs the countersignature too (R19)."""
    responsibility_roles: list[str]
    """Who decides the responsibility for a defect under warranty (R20)."""
    office_timezone: str = "UTC"
    """R17: an advisor's discounts are counted per week of the office calendar."""


@dataclass
class Approval:
    """One approval, as the ticket records it and the read model lists it."""

    id: str
    kind: str
    ticket_id: str
    workflow_id: str
    requested_by: str
    requested_at: datetime
    amount: Decimal
    reason: str
    approver_roles: list[str]
    due_at: datetime | None
    status: str = ApprovalStatus.PENDING
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    """What the decision acts on: the discount's percent, the parts to issue, ..."""

    @property
    def pending(self) -> bool:
        return self.status == ApprovalStatus.PENDING


@dataclass
class DecisionRequest:
    """The `decide` update: one person's decision on one approval."""

    approval_id: str
    actor: str
    roles: list[str]
    approve: bool
    note: str | None = None


def deciding_role(terms: ApprovalTerms, kind: str, amount: Decimal) -> str:
    """The role whose authority covers `amount` for `kind` (the first band it fits)."""
    for band in terms.bands[kind]:
        if band.up_to is None or amount <= band.up_to:
            return band.role
    return terms.bands[kind][-1].role


def next_in_chain(chain: list[str], roles: Iterable[str]) -> str | None:
    """The role above the highest of `roles` in `chain`; None at the top (or off it)."""
    ranks = [chain.index(role) for role in roles if role in chain]
    if not ranks or max(ranks) + 1 >= len(chain):
        return None
    return chain[max(ranks) + 1]


def to_decide(approvals: Iterable[Approval], request: DecisionRequest) -> Approval:
    """The pending approval `request` decides, if its author may: never the requester, only
    the roles the approval names (its band's role and those it escalated to); refused as
    NOT_FOUND, CONFLICT (decided already) or FORBIDDEN otherwise."""
    for approval in approvals:
        if approval.id != request.approval_id:
            continue
        if not approval.pending:
            raise refuse(
                f"approval '{approval.id}' was {approval.status} already by {approval.decided_by}",
                CONFLICT,
            )
        if request.actor == approval.requested_by:
            raise refuse("an approval is never decided by the person who asked for it", FORBIDDEN)
        if not set(approval.approver_roles).intersection(request.roles):
            needed = " or ".join(approval.approver_roles)
            raise refuse(f"deciding this {approval.kind} needs the role {needed}", FORBIDDEN)
        return approval
    raise refuse(f"no approval '{request.approval_id}' on this ticket", NOT_FOUND)
