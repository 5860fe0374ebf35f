"""Reads of the `surveys` read model (R22, R23): the card a customer's link shows, and the
survey line of a ticket."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError

from models.roles import SURVEY_LINK_ROLES
from models.survey import (
    ITEMS,
    RatedItemPublic,
    RatingLevelPublic,
    SurveyCardPublic,
    SurveyStatus,
    survey_link,
    token_digest,
)
from models.tables import SurveyRecord, User
from workflows.survey import SurveyWorkflow, survey_workflow_id

MAX_TOKEN = 128  # the column's size; a longer one names no survey


def shows_link(roles: Iterable[str]) -> bool:
    return bool(SURVEY_LINK_ROLES.intersection(roles))


def status_of(row: SurveyRecord, now: datetime | None = None) -> SurveyStatus:
    """The survey's status; a card past its expiry is expired even before its workflow says."""
    status = SurveyStatus(row.status)
    now = now or datetime.now(UTC)
    if status is SurveyStatus.SENT and row.expires_at is not None and row.expires_at <= now:
        return SurveyStatus.EXPIRED
    return status


def survey_summaries(session: Session, ticket_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The tickets' `survey` lines (`{status, sent_at, answered_at, link}`), by ticket id,
    without the link (the read model does not know it); tickets without a survey are absent."""
    rows = session.exec(
        select(SurveyRecord).where(col(SurveyRecord.ticket_id).in_(list(ticket_ids)))
    ).all()
    return {
        row.ticket_id: {
            "status": status_of(row).value,
            "sent_at": row.sent_at,
            "answered_at": row.answered_at,
            "link": None,
        }
        for row in rows
    }


def survey_by_token(session: Session, token: str) -> SurveyRecord | None:
    if not token or len(token) > MAX_TOKEN:
        return None
    digest = token_digest(token)
    return session.exec(select(SurveyRecord).where(col(SurveyRecord.token_hash) == digest)).first()


async def open_link(client: Client, ticket_id: str, status: str, public_url: str) -> str | None:
    """The secret link of a ticket's open card, from its survey's workflow (the read model
    keeps only the token's digest); None once the card is answered or expired."""
    if status != SurveyStatus.SENT:
        return None
    handle = client.get_workflow_handle_for(SurveyWorkflow.run, survey_workflow_id(ticket_id))
    try:
        state = await handle.query(SurveyWorkflow.state_query)
    except (RPCError, WorkflowQueryFailedError):
        return None
    return survey_link(public_url, state.token) if state.token else None


def card(session: Session, row: SurveyRecord) -> SurveyCardPublic:
    """What the customer's link shows: whom and what the card is about, and its four items."""
    technician = session.get(User, row.technician) if row.technician else None
    return SurveyCardPublic(
        ticket_number=row.ticket_number,
        technician=technician.full_name if technician else row.technician,
        product_model=row.product_model,
        status=status_of(row),
        sent_at=row.sent_at,
        expires_at=row.expires_at,
        answered_at=row.answered_at,
        items=[
            RatedItemPublic(
                name=item.name,
                question=item.question,
                levels=[RatingLevelPublic(value=v, label=label) for v, label in item.levels],
            )
            for item in ITEMS
        ],
    )
