"""Escalations into the read model (R16), for every workflow that raises them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict

from sqlalchemy.engine import Connection

from activities.upsert import upsert
from models.escalation import Escalation
from models.tables import EscalationRecord


def project_escalations(connection: Connection, escalations: Iterable[Escalation]) -> None:
    """Writes each escalation's row; the workflow's copy is the truth, so it overwrites."""
    for escalation in escalations:
        upsert(connection, EscalationRecord, asdict(escalation), ["id"])
