"""A branch's calendar of daily reports (R27-R29): one long-running workflow per branch that
opens each working day's report (workflows/daily_report.py) and moves on to the next when that
day ends — weekends and holidays have none. Each day is planned from the end of the previous
one, so a worker that was down catches up every day it missed, once (a day's report has the
id of its branch and day).

A workflow rather than a Temporal Schedule: the days follow the policy's working calendar
(holidays, make-up days) that a cron expression cannot, and the time-skipping test server runs
it. Deterministic, sandbox-safe.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from workflows.daily_report import DailyReportWorkflow, daily_report_workflow_id

with workflow.unsafe.imports_passed_through():
    from models.daily_report import BranchReportsStart, DailyReportStart, DayAfter

PLAN = "plan_report_day"
PLAN_TIMEOUT = timedelta(seconds=30)
DAYS_PER_RUN = 30
"""Days before continuing as new, so the history stays short however long the branch lives."""


def branch_reports_workflow_id(branch: str) -> str:
    return f"branch-reports-{branch}"


@workflow.defn(name="BranchReports")
class BranchReportsWorkflow:
    @workflow.run
    async def run(self, start: BranchReportsStart) -> None:
        # A branch's first report covers the day before it started too: nothing is missed.
        after = start.after or workflow.now() - timedelta(days=1)
        for _ in range(DAYS_PER_RUN):
            day: DailyReportStart = await workflow.execute_local_activity(
                PLAN,
                DayAfter(start.branch, after),
                start_to_close_timeout=PLAN_TIMEOUT,
                result_type=DailyReportStart,
            )
            try:
                await workflow.start_child_workflow(
                    DailyReportWorkflow.run,
                    day,
                    id=daily_report_workflow_id(start.branch, day.day.isoformat()),
                    parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                )
            except WorkflowAlreadyStartedError:
                pass  # that day has its report already (even done): never a second one
            after = day.window.end
            await workflow.sleep(max(after - workflow.now(), timedelta(0)))
        workflow.continue_as_new(BranchReportsStart(start.branch, after))
