"""One branch's day of reports (R27-R29, A8.10-A8.12): drafted at the end of the working day
from the day's steps, each technician's report confirmed (or corrected) by the technician and
reviewed by the director; then rolled up into the director's report (R28), which the branch
manager signs and which is then forwarded to the service department (R29). Whatever is still
missing at the next working day's policy hour escalates (R16) to whoever it waits for.

Deterministic, sandbox-safe: the draft, the projection and the messages are activities.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows.escalations import Notices

with workflow.unsafe.imports_passed_through():
    from models.daily_report import (
        DailyReportStart,
        DailyReportState,
        ReportProjection,
        ReportStep,
        TechnicianReport,
        apply_corrections,
        check_confirm,
        check_review,
        check_sign,
        roll_up,
    )
    from models.escalation import (
        ACKNOWLEDGE_UPDATE,
        AcknowledgeRequest,
        Escalation,
        EscalationKind,
        EscalationNotice,
        new_escalation,
        to_acknowledge,
    )
    from models.messages import StaffNotice

# The activities it runs, by name (activities/reports.py, activities/notify.py).
DRAFT, PROJECT, NOTIFY_STAFF = "draft_daily_report", "project_daily_report", "notify_staff"
ACTIVITY_TIMEOUT = timedelta(seconds=30)
NOTICE_TIMEOUT = timedelta(minutes=5)
RETRY = RetryPolicy(maximum_interval=timedelta(minutes=5))


def daily_report_workflow_id(branch: str, day: str) -> str:
    return f"daily-report-{branch}-{day}"


@workflow.defn(name="DailyReport")
class DailyReportWorkflow:
    @workflow.init
    def __init__(self, start: DailyReportStart) -> None:
        self.state = DailyReportState(start.branch, start.day, start.due_at)
        self.lock = asyncio.Lock()
        self.notices = Notices()

    @workflow.run
    async def run(self, start: DailyReportStart) -> DailyReportState:
        state = self.state
        async with self.lock:
            await self._project()  # on the list, drafting, from the start of its day
        await workflow.sleep(max(start.window.end - workflow.now(), timedelta(0)))
        async with self.lock:
            state.technicians = await workflow.execute_activity(
                DRAFT,
                start,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=RETRY,
                result_type=list[TechnicianReport],
            )
            state.drafted_at = workflow.now()
            await self._project()
        if state.technicians:
            if not await self._signed_within(state.due_at - workflow.now()):
                await self._escalate()
                await workflow.wait_condition(lambda: state.signed_at is not None)
            await self._forward(start)
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and self.notices.settled()
        )
        return state

    async def _signed_within(self, wait: timedelta) -> bool:
        try:
            await workflow.wait_condition(
                lambda: self.state.signed_at is not None, timeout=max(wait, timedelta(0))
            )
        except TimeoutError:
            return self.state.signed_at is not None
        return True

    async def _escalate(self) -> None:
        """R16, R29: the report is late; the director owns it while technicians' reports
        wait, the manager once only the signature does."""
        state = self.state
        missing = state.missing()
        unsigned_only = missing == ["the manager's signature"]
        report = f"{state.branch}:{state.day.isoformat()}"
        async with self.lock:
            escalation = new_escalation(
                f"{report}-overdue",
                EscalationKind.DAILY_REPORT_OVERDUE,
                report,
                workflow.info().workflow_id,
                workflow.now(),
                state.due_at,
                {"branch": state.branch, "day": state.day.isoformat(), "missing": missing},
                owners=("manager", "director") if unsigned_only else None,
            )
            state.escalations.append(escalation)
            await self._project()
        subject = f"Daily report of {state.branch} for {state.day} is overdue"
        body = f"{subject}: it still waits for {', '.join(missing)} (R29)."
        self.notices.send(EscalationNotice(escalation, report, subject, body, branch=state.branch))

    async def _forward(self, start: DailyReportStart) -> None:
        """R29: the signed director's report goes to the service department."""
        state = self.state
        assert state.roll_up is not None
        total = state.roll_up.total
        notice = StaffNotice(
            key=f"daily-report:{state.branch}:{state.day.isoformat()}",
            roles=list(start.forward_to),
            subject=f"Daily report of {state.branch} for {state.day}, signed by {state.signed_by}",
            body=(
                f"{total['jobs']} jobs by {len(state.roll_up.technicians)} technicians: "
                f"{total['on_site_minutes']} minutes on site, {total['travel_minutes']} "
                f"travelling, {total['workshop_minutes']} in the workshop. Signed by "
                f"{state.signed_by}" + (f": {state.sign_note}" if state.sign_note else ".")
            ),
            branch=state.branch,
        )
        await workflow.execute_activity(
            NOTIFY_STAFF,
            notice,
            start_to_close_timeout=NOTICE_TIMEOUT,
            retry_policy=RETRY,
            result_type=int,
        )
        async with self.lock:
            state.forwarded_at = workflow.now()
            await self._project()

    # --- the people's steps --------------------------------------------------------------

    @workflow.update
    async def confirm(self, step: ReportStep) -> DailyReportState:
        """R27: the technician confirms the day's report, correcting what the draft got
        wrong (each correction says why)."""
        async with self.lock:
            report = check_confirm(self.state, step)
            apply_corrections(report, step.corrections)
            report.confirmed_by, report.confirmed_at = step.actor, workflow.now()
            await self._project()
            return self.state

    @confirm.validator
    def _validate_confirm(self, step: ReportStep) -> None:
        check_confirm(self.state, step)

    @workflow.update
    async def review(self, step: ReportStep) -> DailyReportState:
        """A8.10: the director reviews a confirmed report; the last review rolls the day up
        into the director's report (R28)."""
        async with self.lock:
            report = check_review(self.state, step)
            report.reviewed_by, report.reviewed_at = step.actor, workflow.now()
            report.review_note = step.note
            if all(r.reviewed_at is not None for r in self.state.technicians):
                self.state.roll_up = roll_up(self.state.technicians)
            await self._project()
            return self.state

    @review.validator
    def _validate_review(self, step: ReportStep) -> None:
        check_review(self.state, step)

    @workflow.update
    async def sign(self, step: ReportStep) -> DailyReportState:
        """R29: the branch manager signs the director's report; it is forwarded then."""
        async with self.lock:
            check_sign(self.state, step)
            state = self.state
            state.signed_by, state.signed_at, state.sign_note = (
                step.actor,
                workflow.now(),
                step.note,
            )
            for escalation in state.escalations:
                if escalation.is_open:  # signed is handled
                    escalation.acknowledged_at, escalation.acknowledged_by = (
                        state.signed_at,
                        step.actor,
                    )
            await self._project()
            return state

    @sign.validator
    def _validate_sign(self, step: ReportStep) -> None:
        check_sign(self.state, step)

    @workflow.update(name=ACKNOWLEDGE_UPDATE)
    async def acknowledge(self, request: AcknowledgeRequest) -> Escalation:
        async with self.lock:
            escalation = to_acknowledge(self.state.escalations, request)
            if escalation.is_open:
                escalation.acknowledged_at = workflow.now()
                escalation.acknowledged_by = request.actor
                await self._project()
            return escalation

    @acknowledge.validator
    def _validate_acknowledge(self, request: AcknowledgeRequest) -> None:
        to_acknowledge(self.state.escalations, request)

    @workflow.query(name="state")
    def state_query(self) -> DailyReportState:
        return self.state

    async def _project(self) -> None:
        self.state.updated_at = workflow.now()
        await workflow.execute_local_activity(
            PROJECT,
            ReportProjection(self.state, workflow.info().workflow_id),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
        )
