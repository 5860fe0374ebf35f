"""Survey cards in the read model (R22, R23): the projection of each card's workflow, the
digest of its link's token, and the reads of the API. The row is a function of the workflow's
state; the token itself is never stored, only its SHA-256 (docs/security.md)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from models.survey import SurveyState, token_digest
from models.tables import SurveyRecord
from store.sql import upsert

MAX_TOKEN = 128  # longer than any token the product makes: a longer one names no survey


def survey_values(state: SurveyState) -> dict[str, Any]:
    """The `surveys` row of `state`; without the token until the card is issued, so a
    projection never erases one."""
    start, answer = state.start, state.answer
    values: dict[str, Any] = {
        "ticket_id": start.ticket_id,
        "ticket_number": start.ticket_number,
        "workflow_id": state.workflow_id,
        "status": state.status.value,
        "technician": start.technician,
        "service_type": start.service_type,
        "customer_name": start.customer.name,
        "customer_phone": start.customer.phone,
        "customer_email": start.customer.email,
        "product_model": start.product.model,
        "product_serial_no": start.product.serial_no,
        "channels": list(state.channels),
        "scheduled_for": state.scheduled_for,
        "sent_at": state.sent_at,
        "reminded_at": state.reminded_at,
        "expires_at": state.expires_at,
        "answered_at": state.answered_at,
        "attitude": answer.attitude if answer else None,
        "skill": answer.skill if answer else None,
        "arrival_time": answer.arrival_time if answer else None,
        "promise_keeping": answer.promise_keeping if answer else None,
        "comment": answer.comment if answer else None,
        "complaint": answer.complaint if answer else None,
        "complaint_id": state.complaint_id,
        "updated_at": state.updated_at,
    }
    if state.token is not None:
        values["token_hash"] = token_digest(state.token)
    return values


def project(connection: Connection, state: SurveyState) -> None:
    """The survey's row, overwritten with the workflow's state."""
    upsert(connection, SurveyRecord, survey_values(state), ["ticket_id"])


def issue(connection: Connection, state: SurveyState, token: str) -> None:
    """R22: the card's row with the digest of its new link token."""
    project(connection, state)
    connection.execute(
        update(SurveyRecord)
        .where(col(SurveyRecord.ticket_id) == state.start.ticket_id)
        .values(token_hash=token_digest(token))
    )


def by_token(session: Session, token: str) -> SurveyRecord | None:
    """The card a customer's link opens, found by the digest of its token."""
    if not token or len(token) > MAX_TOKEN:
        return None
    digest = token_digest(token)
    return session.exec(select(SurveyRecord).where(col(SurveyRecord.token_hash) == digest)).first()


def of_tickets(session: Session, ticket_ids: Iterable[str]) -> list[SurveyRecord]:
    """The survey cards of these tickets (tickets without one have none)."""
    return list(
        session.exec(
            select(SurveyRecord).where(col(SurveyRecord.ticket_id).in_(list(ticket_ids)))
        ).all()
    )
