"""The survey card's side effects (R22, R23): its secret token, its row in `surveys` and the
texts of the card and its reminder. Run as local activities of the `Survey` workflow.

Every write is idempotent: the row is a function of the workflow's state. The link's token is
kept only as its SHA-256: `issue_card` makes a new token on every attempt and stores its
digest, which is safe because no token leaves the workflow before the attempt that made it is
recorded in history (the card is sent by activities scheduled after that).
"""

from __future__ import annotations

import secrets

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import invalid_data_is_final
from core.config import Settings
from models.messages import EMAIL, SMS, OutgoingMessage
from models.survey import CARD, SurveyNotice, SurveyState, survey_link
from store import complaints, surveys, users

TOKEN_BYTES = 32  # 256 bits: a link nobody guesses


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
                surveys.project(connection, state)

    @activity.defn
    def issue_card(self, state: SurveyState) -> str:
        """R22: the card's secret token; the read model keeps only its digest."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with invalid_data_is_final(f"survey of {state.start.ticket_number}"):
            with self.engine.begin() as connection:
                surveys.issue(connection, state, token)
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
            number = complaints.number_of(connection, workflow_id)
        if number is None:
            raise ApplicationError(
                f"complaint {workflow_id} is not registered yet", type="ComplaintNotRegistered"
            )
        return number

    def _technician_name(self, username: str | None) -> str | None:
        with Session(self.engine) as db:
            return users.full_name(db, username)
