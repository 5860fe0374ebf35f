"""The survey card's side effects (R22, R23): its secret token, its row in `surveys` and the
texts of the card and its reminder. Run as local activities of the `Survey` workflow.

Every write is idempotent: the row is a function of the workflow's state. The link's token is
kept only as its SHA-256: `issue_card` makes a new token on every attempt and stores its
digest, which is safe because no token leaves the workflow before the attempt that made it is
recorded in history (the card is sent by activities scheduled after that).
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import invalid_data_is_final
from activities.upsert import upsert
from models.messages import EMAIL, SMS, OutgoingMessage
from models.settings import Settings
from models.survey import CARD, SurveyNotice, SurveyState, survey_link, token_digest
from models.tables import ComplaintRecord, SurveyRecord, User

TOKEN_BYTES = 32  # 256 bits: a link nobody guesses


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


def _project(connection: Connection, state: SurveyState) -> None:
    upsert(connection, SurveyRecord, survey_values(state), ["ticket_id"])


def _duration(hours: float) -> str:
    if hours >= 24 and hours % 24 == 0:
        days = int(hours // 24)
        return f"{days} day" if days == 1 else f"{days} days"
    if hours >= 1:
        whole = round(hours)
        return f"{whole} hour" if whole == 1 else f"{whole} hours"
    return f"{max(1, round(hours * 60))} minutes"


class SurveyActivities:
    """Issues, projects and words the survey card of one resolved ticket."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.public_url = settings.resolved_public_url

    @activity.defn
    def project_survey(self, state: SurveyState) -> None:
        """The survey's row in `surveys`, overwritten with the workflow's state."""
        with invalid_data_is_final(f"survey of {state.start.ticket_number}"):
            with self.engine.begin() as connection:
                _project(connection, state)

    @activity.defn
    def issue_card(self, state: SurveyState) -> str:
        """R22: the card's secret token; the read model keeps only its digest."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with invalid_data_is_final(f"survey of {state.start.ticket_number}"):
            with self.engine.begin() as connection:
                _project(connection, state)
                connection.execute(
                    update(SurveyRecord)
                    .where(col(SurveyRecord.ticket_id) == state.start.ticket_id)
                    .values(token_hash=token_digest(token))
                )
        return token

    @activity.defn
    def compose(self, notice: SurveyNotice) -> list[OutgoingMessage]:
        """The card (or its reminder) for each of the customer's channels: an email when the
        customer gave an address, an SMS to the phone."""
        start = notice.start
        technician = self._technician_name(start.technician)
        link = survey_link(self.public_url, notice.token)
        open_for = _duration(notice.open_hours)
        key = f"survey:{start.ticket_id}:{notice.occasion}"
        by_whom = f" by our technician {technician}" if technician else ""
        if notice.occasion == CARD:
            subject = f"How was your repair? Ticket {start.ticket_number}"
            opening = (
                "Thank you for choosing our service. Your repair (ticket "
                f"{start.ticket_number}, {start.product.model}) was done{by_whom}."
            )
            sms = (
                f"Ticket {start.ticket_number}: how was the visit{by_whom}? "
                f"Please rate it (4 quick questions): {link}"
            )
        else:
            subject = f"Reminder: how was your repair? Ticket {start.ticket_number}"
            opening = (
                "We have not heard from you yet about your repair (ticket "
                f"{start.ticket_number}, {start.product.model}) done{by_whom}."
            )
            sms = (
                f"Reminder, ticket {start.ticket_number}: please rate the visit{by_whom} "
                f"(4 quick questions, open {open_for} more): {link}"
            )
        body = (
            f"Dear {start.customer.name},\n\n{opening}\n\n"
            "Please take a minute to rate the visit: four quick questions (attitude, skill, "
            "arrival time, keeping promises), with room for suggestions or a complaint.\n\n"
            f"{link}\n\n"
            f"This link is for you alone and stays open for {open_for}.\n\n"
            "After-sales service\n"
        )
        messages = []
        if start.customer.email:
            messages.append(OutgoingMessage(key, EMAIL, start.customer.email, subject, body))
        if start.customer.phone:
            messages.append(OutgoingMessage(key, SMS, start.customer.phone, subject, sms))
        return messages

    @activity.defn
    def complaint_number(self, workflow_id: str) -> str:
        """The number of the complaint run by `workflow_id`; raises (and is retried) until that
        complaint is registered."""
        with self.engine.connect() as connection:
            number = connection.execute(
                select(col(ComplaintRecord.id)).where(
                    col(ComplaintRecord.workflow_id) == workflow_id
                )
            ).scalar_one_or_none()
        if number is None:
            raise ApplicationError(
                f"complaint {workflow_id} is not registered yet", type="ComplaintNotRegistered"
            )
        return number

    def _technician_name(self, username: str | None) -> str | None:
        if username is None:
            return None
        with self.engine.connect() as connection:
            name = connection.execute(
                select(col(User.full_name)).where(col(User.username) == username)
            ).scalar_one_or_none()
        return name or username
