"""The notifications outbox: one row per message and recipient, so a retried send skips the
recipients who already have it (R16: notified once; R22: one card each)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from models.messages import PENDING, OutgoingMessage
from models.tables import NotificationRecord, utcnow
from store.sql import insert_missing

OUTBOX_KEY = ["key", "channel", "recipient"]


def _where(message: OutgoingMessage) -> ColumnElement[bool]:
    return and_(
        col(NotificationRecord.key) == message.key,
        col(NotificationRecord.channel) == message.channel,
        col(NotificationRecord.recipient) == message.recipient,
    )


def open_message(engine: Engine, message: OutgoingMessage) -> str:
    """The message's outbox row, written `pending` if it is not there; its status."""
    values = {
        "key": message.key,
        "channel": message.channel,
        "recipient": message.recipient,
        "subject": message.subject,
        "status": PENDING,
        "created_at": utcnow(),
    }
    with engine.begin() as connection:
        insert_missing(connection, NotificationRecord, values, OUTBOX_KEY)
        status: str = connection.execute(
            select(col(NotificationRecord.status)).where(_where(message))
        ).scalar_one()
        return status


def close_message(
    engine: Engine, message: OutgoingMessage, status: str, at: datetime | None
) -> str:
    """Marks a pending row with its final status; the status the row has now."""
    with engine.begin() as connection:
        connection.execute(
            update(NotificationRecord)
            .where(_where(message), col(NotificationRecord.status) == PENDING)
            .values(status=status, sent_at=at)
        )
        final: str = connection.execute(
            select(col(NotificationRecord.status)).where(_where(message))
        ).scalar_one()
        return final
