"""Acknowledging an escalation (R16), as the JSON API (`POST /escalations/{id}/acknowledge`)
and the console's escalations queue both take it: the workflow that raised it decides who may
(its owners, a director or admin); a second acknowledgement changes nothing."""

from __future__ import annotations

from api.deps import Services
from api.workflow_answers import update_of
from models.escalation import ACKNOWLEDGE_UPDATE, AcknowledgeRequest, Escalation
from models.tables import User
from store import escalations


async def acknowledge(
    app: Services, escalation_id: str, user: User, note: str | None
) -> Escalation:
    """Acknowledges `escalation_id` as `user`, with their `note`."""
    request = AcknowledgeRequest(escalation_id, user.username, user.roles, note)
    return await update_of(
        app,
        escalations.escalation,
        "escalation",
        escalation_id,
        ACKNOWLEDGE_UPDATE,
        request,
        Escalation,
    )
