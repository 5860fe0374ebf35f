"""Survey cards' commands (R22, R23): the customer's answer as the card's `answer` update, and
the secret link of an open card (which the read model does not keep) from its workflow."""

from __future__ import annotations

from temporalio.client import Client, WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from api.workflow_answers import in_time, refused, unavailable
from models.survey import SurveyAnswer, SurveyStatus, survey_link
from workflows.survey import SurveyWorkflow, survey_workflow_id


class SurveyGone(Exception):
    """The card's workflow has ended (answered or expired) since its row was read."""


async def answer(client: Client, workflow_id: str, given: SurveyAnswer) -> None:
    """R23: the answer, once; the workflow's refusals are raised as they come."""
    handle = client.get_workflow_handle_for(SurveyWorkflow.run, workflow_id)
    try:
        await in_time(handle.execute_update(SurveyWorkflow.answer, given), "survey link")
    except WorkflowUpdateFailedError as failure:
        refused(failure, "survey")
    except RPCError as error:
        if error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise SurveyGone(workflow_id) from error
        unavailable(error)


async def open_link(client: Client, ticket_id: str, status: str, public_url: str) -> str | None:
    """The secret link of a ticket's open card, from its survey's workflow; None once the
    card is answered or expired (or its workflow cannot be asked)."""
    if status != SurveyStatus.SENT:
        return None
    handle = client.get_workflow_handle_for(SurveyWorkflow.run, survey_workflow_id(ticket_id))
    try:
        state = await handle.query(SurveyWorkflow.state_query)
    except (RPCError, WorkflowQueryFailedError):
        return None
    return survey_link(public_url, state.token) if state.token else None
