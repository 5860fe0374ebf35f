"""What the daily report routes ask of a day's report workflow (R27-R29): each person's step,
answered once it is recorded."""

from __future__ import annotations

from datetime import date
from typing import Any

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from api.workflow_answers import in_time, refused, unavailable
from models.daily_report import ReportStep
from models.refusals import CONFLICT, Refused
from workflows.daily_report import DailyReportWorkflow, daily_report_workflow_id


async def take(client: Client, branch: str, day: date, update: Any, step: ReportStep) -> None:
    """Takes `step` (the workflow's `confirm`, `review` or `sign` update) on the report, which
    the caller found in the read model (a workflow no longer there is one that is done)."""
    workflow_id = daily_report_workflow_id(branch, day.isoformat())
    handle = client.get_workflow_handle_for(DailyReportWorkflow.run, workflow_id)
    try:
        await in_time(handle.execute_update(update, step), "daily report")
    except WorkflowUpdateFailedError as failure:
        refused(failure, "daily report")
    except RPCError as error:
        if error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise Refused(CONFLICT, f"the report of {day} is forwarded: it is done") from error
        unavailable(error)
