"""The day's reports' I/O (R27-R29): which day comes next by the policy's calendar, the draft
from the day's steps in the read model, and each report's projection."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from temporalio import activity

from activities.errors import invalid_data_is_final
from models.daily_report import (
    DailyReportStart,
    DayAfter,
    ReportProjection,
    TechnicianReport,
    draft,
    report_day,
)
from models.policy import Policy
from store import daily_reports


class ReportActivities:
    def __init__(self, engine: Engine, policy: Policy) -> None:
        self.engine, self.policy = engine, policy

    @activity.defn
    def plan_report_day(self, request: DayAfter) -> DailyReportStart:
        """The branch's next report day after `request.after`, by the policy in force."""
        policy = self.policy
        calendar = policy.calendar_near(policy.reports_calendar, request.after)
        forward_to = [role.value for role in policy.reports.forward_to]
        return report_day(
            request.branch, calendar, request.after, policy.reports.due_by, forward_to
        )

    @activity.defn
    def draft_daily_report(self, start: DailyReportStart) -> list[TechnicianReport]:
        """R27: each technician's report of the day, from the branch's tickets' steps."""
        window = start.window
        with self.engine.connect() as connection:
            steps = daily_reports.day_steps(connection, start.branch, window.start, window.end)
        return draft(steps, window)

    @activity.defn
    def project_daily_report(self, projection: ReportProjection) -> None:
        state = projection.state
        with invalid_data_is_final(f"daily report {state.branch} {state.day}"):
            with self.engine.begin() as connection:
                daily_reports.project(connection, state, projection.workflow_id)
