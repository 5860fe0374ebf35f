"""Deciding an approval (R17-R20), as the JSON API (`POST /approvals/{id}/decision`) and the
console's approvals queue both take it: the approval's ticket workflow decides who may (its
roles, never the requester, once) and carries on with the decision."""

from __future__ import annotations

from api.deps import Services
from api.workflow_answers import update_of
from models.approvals import DECIDE_UPDATE, Approval, DecisionRequest
from models.tables import User
from store import approvals


async def decide(
    app: Services, approval_id: str, user: User, approve: bool, reason: str | None
) -> Approval:
    """Approve or reject `approval_id` as `user`; refused (NOT_FOUND, FORBIDDEN, CONFLICT)
    as the workflow says."""
    request = DecisionRequest(approval_id, user.username, user.roles, approve, reason)
    return await update_of(
        app, approvals.approval, "approval", approval_id, DECIDE_UPDATE, request, Approval
    )
