"""What is waiting, as the operators' gauges show it (docs/operations.md): open tickets by
status, unacknowledged escalations by kind, and the notifications outbox's backlog. Each is one
GROUP BY over an index of the open rows only, so a scrape costs the same however many tickets
have closed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from models.lifecycle import TERMINAL, Status
from models.messages import PENDING
from models.tables import EscalationRecord, NotificationRecord, TicketRecord, utcnow

OPEN_STATUSES = tuple(status.value for status in Status if status not in TERMINAL)


@dataclass(frozen=True)
class OpenWork:
    tickets_by_status: dict[str, int]
    """Every open status, 0 where no ticket has it."""
    escalations_by_kind: dict[str, int]
    """The kinds with unacknowledged escalations."""
    pending_messages_by_channel: dict[str, int]
    oldest_pending_age_seconds: float
    """How long the oldest pending message has waited; 0 with none pending."""


def open_work(engine: Engine) -> OpenWork:
    """The counts, read in one connection."""
    with engine.connect() as db:
        tickets = db.execute(
            select(col(TicketRecord.status), func.count())
            .where(col(TicketRecord.status).in_(OPEN_STATUSES))
            .group_by(col(TicketRecord.status))
        ).all()
        escalations = db.execute(
            select(col(EscalationRecord.kind), func.count())
            .where(col(EscalationRecord.acknowledged_at).is_(None))
            .group_by(col(EscalationRecord.kind))
        ).all()
        pending = col(NotificationRecord.status) == PENDING
        messages = db.execute(
            select(col(NotificationRecord.channel), func.count())
            .where(pending)
            .group_by(col(NotificationRecord.channel))
        ).all()
        oldest: datetime | None = db.execute(
            select(func.min(col(NotificationRecord.created_at))).where(pending)
        ).scalar_one()
    return OpenWork(
        tickets_by_status=dict.fromkeys(OPEN_STATUSES, 0) | {s: int(n) for s, n in tickets},
        escalations_by_kind={kind: int(n) for kind, n in escalations},
        pending_messages_by_channel={channel: int(n) for channel, n in messages},
        oldest_pending_age_seconds=_age_seconds(oldest),
    )


def _age_seconds(since: datetime | None) -> float:
    return 0.0 if since is None else max(0.0, (utcnow() - since).total_seconds())
