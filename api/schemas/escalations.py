"""Escalations as clients read and acknowledge them (R16)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from api.schemas.base import Request
from models.tables import EscalationRecord
from models.values import Text


class EscalationPublic(BaseModel):
    """R16: an escalation, as `GET /escalations` lists it."""

    id: str
    kind: str
    ticket_id: str
    raised_at: datetime
    due_at: datetime | None
    owner_role: str
    notify_roles: list[str]
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    details: dict[str, Any]

    @classmethod
    def from_record(cls, row: EscalationRecord) -> EscalationPublic:
        return cls.model_validate(row, from_attributes=True)


class AcknowledgeBody(Request):
    note: Text | None = None
