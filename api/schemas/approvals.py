"""Approvals as clients read and decide them (R17-R20)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, model_validator

from api.schemas.base import Request
from models.approvals import Approval
from models.tables import ApprovalRecord
from models.values import MoneyOut, Text


class ApprovalPublic(BaseModel):
    """One approval: `amount` is money, or for a discount its percent; `approver_roles` are
    the roles that may decide it now (its band's, and those it escalated to, R16)."""

    id: str
    kind: str
    ticket_id: str
    requested_by: str
    requested_at: datetime
    amount: MoneyOut
    reason: str
    approver_roles: list[str]
    due_at: datetime | None
    """When it goes up the chain if still undecided; none at the top of the chain."""
    status: str
    decided_by: str | None
    decided_at: datetime | None
    note: str | None
    details: dict[str, Any]

    @classmethod
    def from_record(cls, row: ApprovalRecord | Approval) -> ApprovalPublic:
        return cls.model_validate(row, from_attributes=True)


class DecisionBody(Request):
    """`POST /approvals/{id}/decision`: approve or reject, with the reason (required to
    reject: the requester reads it)."""

    approve: bool
    reason: Text | None = None

    @model_validator(mode="after")
    def _rejection_says_why(self) -> DecisionBody:
        if not self.approve and self.reason is None:
            raise ValueError("reason: a rejection says why")
        return self
