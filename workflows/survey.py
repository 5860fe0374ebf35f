"""The survey workflow: one resolved ticket's survey card, from resolution to answer or expiry
(R22, R23).

Started by the ticket workflow as the child `survey-<ticket_id>` when the ticket resolves:
every resolved ticket gets one, never a sample (R22). It waits until `delay_hours` after the
resolution, has the card issued (its secret token) and sent by email and SMS, reminds the
customer once after `reminder_hours`, and expires the card `expiry_hours` after sending. The
customer's answer arrives as the `answer` update; refusals come from its validator and leave
no trace in history. A complaint in the answer starts a `Complaint` workflow (R25, R26).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from workflows.timing import passes_before

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from models.followup import ComplaintStart, SurveyStart
    from models.messages import SENT, OutgoingMessage
    from models.refusals import (
        INVALID_ANSWER,
        SURVEY_CLOSED,
        SURVEY_EXPIRED,
        SURVEY_NOT_OPEN,
        refuse,
    )
    from models.survey import (
        CARD,
        REMINDER,
        SurveyAnswer,
        SurveyNotice,
        SurveyState,
        SurveyStatus,
        answer_errors,
        checked_answer,
    )

# The activities it runs (activities/), by name: workflows do not import them.
ISSUE_CARD, COMPOSE, PROJECT_SURVEY = "issue_card", "compose", "project_survey"
SEND_MESSAGE, COMPLAINT_NUMBER = "send_message", "complaint_number"
LOCAL_TIMEOUT = timedelta(seconds=30)
SEND_TIMEOUT = timedelta(seconds=60)  # longer than the SMTP timeout (activities/notify.py)
# A channel that is down is retried this long; then the card goes out on the others (R22).
SEND_GIVE_UP = timedelta(hours=12)
SEND_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=5))
COMPLAINT_WORKFLOW = "Complaint"
CUSTOMER = "customer"
RECEIVED_VIA_SURVEY = "survey"
COMPLAINT_WAIT = timedelta(hours=1)  # for the complaint's number; it has its own workflow
MAX_COMPLAINT_IDS = 20  # `complaint-<ticket>-<n>` ids tried when staff took the first ones

# Patches: surveys started before these changes replay without them.
COMPLAINT_FIRST_PATCH = "survey-answer-starts-its-complaint-first"


def survey_workflow_id(ticket_id: str) -> str:
    return f"survey-{ticket_id}"


@workflow.defn(name="Survey")
class SurveyWorkflow:
    @workflow.init
    def __init__(self, start: SurveyStart) -> None:
        self.state = SurveyState(
            start=start,
            workflow_id=workflow.info().workflow_id,
            # From the resolution, not from this start: a late start adds no delay (R22).
            scheduled_for=start.resolved_at + timedelta(hours=start.terms.delay_hours),
            updated_at=workflow.now(),
        )
        self.lock = asyncio.Lock()

    @workflow.run
    async def run(self, start: SurveyStart) -> SurveyState:
        state, terms = self.state, start.terms
        await self._project()
        await self._sleep_until_scheduled()
        token = await workflow.execute_local_activity(
            ISSUE_CARD, state, start_to_close_timeout=LOCAL_TIMEOUT, result_type=str
        )
        sent_at = workflow.now()
        expires_at = sent_at + timedelta(hours=terms.expiry_hours)
        async with self.lock:
            # Open for answers from now: the first channel may reach the customer at once.
            state.token, state.sent_at, state.expires_at = token, sent_at, expires_at
            await self._project(SurveyStatus.SENT)
        channels = await self._deliver(token, CARD, terms.expiry_hours)
        async with self.lock:
            state.channels = channels
            await self._project()
        reminder_at = sent_at + timedelta(hours=terms.reminder_hours)
        if await passes_before(reminder_at, self._answered):
            remaining = (expires_at - workflow.now()).total_seconds() / 3600
            await self._deliver(token, REMINDER, max(remaining, 0))
            async with self.lock:
                if state.status is SurveyStatus.SENT:
                    state.reminded_at = workflow.now()
                    await self._project()
            if await passes_before(expires_at, self._answered):
                async with self.lock:
                    if state.status is SurveyStatus.SENT:
                        await self._project(SurveyStatus.EXPIRED)
        await workflow.wait_condition(workflow.all_handlers_finished)
        if state.complaint_workflow_id is not None:
            await self._record_complaint_number(state.complaint_workflow_id)
        return state

    async def _sleep_until_scheduled(self) -> None:
        delay = self.state.scheduled_for - workflow.now()
        if delay > timedelta(0):
            await workflow.sleep(delay)

    def _answered(self) -> bool:
        return self.state.status is SurveyStatus.ANSWERED

    async def _deliver(self, token: str, occasion: str, open_hours: float) -> list[str]:
        """Sends the card (or the reminder) on every channel at once; the channels it reached.
        A channel that fails for good does not hold back the others."""
        messages = await workflow.execute_local_activity(
            COMPOSE,
            SurveyNotice(self.state.start, token, occasion, open_hours),
            start_to_close_timeout=LOCAL_TIMEOUT,
            result_type=list[OutgoingMessage],
        )
        if occasion == REMINDER and self.state.status is not SurveyStatus.SENT:
            return []  # answered while the reminder was being written
        results = await asyncio.gather(*(self._send(message) for message in messages))
        return [
            message.channel
            for message, result in zip(messages, results, strict=True)
            if result == SENT
        ]

    async def _send(self, message: OutgoingMessage) -> str:
        try:
            status: str = await workflow.execute_activity(
                SEND_MESSAGE,
                message,
                start_to_close_timeout=SEND_TIMEOUT,
                schedule_to_close_timeout=SEND_GIVE_UP,
                retry_policy=SEND_RETRY,
                result_type=str,
            )
            return status
        except ActivityError as failed:
            workflow.logger.warning(
                "survey %s: %s to %s not sent: %s",
                message.key,
                message.channel,
                message.recipient,
                failed.cause or failed,
            )
            return "failed"

    @workflow.query
    def state_query(self) -> SurveyState:
        return self.state

    @workflow.update
    async def answer(self, answer: SurveyAnswer) -> SurveyState:
        """R23: the customer's ratings and remarks, once; a complaint in them starts the
        complaint's workflow (R25, R26)."""
        async with self.lock:
            # Expiry or another answer may have landed between validation and now.
            self._validate_answer(answer)
            state, checked = self.state, checked_answer(answer)
            if workflow.patched(COMPLAINT_FIRST_PATCH):
                # The complaint first: if it cannot be started, the survey stays unanswered
                # (and can be answered again), never half-answered.
                if checked.complaint:
                    state.complaint_workflow_id = await self._start_complaint(checked.complaint)
                state.answer = checked
                state.status, state.answered_at = SurveyStatus.ANSWERED, workflow.now()
            else:
                state.answer = checked
                state.status, state.answered_at = SurveyStatus.ANSWERED, workflow.now()
                if checked.complaint:
                    state.complaint_workflow_id = await self._start_complaint(checked.complaint)
            await self._project()
            return state

    @answer.validator
    def _validate_answer(self, answer: SurveyAnswer) -> None:
        match self.state.status:
            case SurveyStatus.ANSWERED:
                raise refuse("this survey has already been answered", SURVEY_CLOSED)
            case SurveyStatus.EXPIRED:
                raise refuse("this survey has expired", SURVEY_EXPIRED)
            case SurveyStatus.SCHEDULED:
                raise refuse("this survey has not been sent yet", SURVEY_NOT_OPEN)
        try:
            checked_answer(answer)
        except ValidationError as invalid:
            raise refuse(
                "invalid survey answer", INVALID_ANSWER, errors=answer_errors(invalid)
            ) from None

    async def _start_complaint(self, text: str) -> str:
        """R25, R26: the complaint goes to its own workflow, which outlives this one."""
        start = self.state.start
        complaint = ComplaintStart(
            ticket_id=start.ticket_id,
            ticket_number=start.ticket_number,
            customer=start.customer,
            product=start.product,
            technician=start.technician,
            text=text,
            received_at=workflow.now(),
            received_via=RECEIVED_VIA_SURVEY,
            recorded_by=CUSTOMER,
            repeat_window_days=start.terms.repeat_window_days,
            notify=start.notify,
        )
        for n in range(1, MAX_COMPLAINT_IDS + 1):
            complaint_id = f"complaint-{start.ticket_id}-{n}"
            try:
                await workflow.start_child_workflow(
                    COMPLAINT_WORKFLOW,
                    complaint,
                    id=complaint_id,
                    parent_close_policy=ParentClosePolicy.ABANDON,
                )
            except WorkflowAlreadyStartedError:
                continue  # staff registered a complaint about this ticket under that id
            return complaint_id
        raise ApplicationError(
            f"no free complaint id for ticket {start.ticket_id}", non_retryable=True
        )

    async def _record_complaint_number(self, complaint_workflow_id: str) -> None:
        """The survey row names the complaint it raised by the complaint's number."""
        try:
            number = await workflow.execute_activity(
                COMPLAINT_NUMBER,
                complaint_workflow_id,
                start_to_close_timeout=LOCAL_TIMEOUT,
                schedule_to_close_timeout=COMPLAINT_WAIT,
                retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1)),
                result_type=str,
            )
        except ActivityError as failed:
            workflow.logger.warning(
                "complaint %s has no number: %s", complaint_workflow_id, failed.cause or failed
            )
            return
        async with self.lock:
            self.state.complaint_id = number
            await self._project()

    async def _project(self, status: SurveyStatus | None = None) -> None:
        state = self.state
        if status is not None:
            state.status = status
        state.updated_at = workflow.now()
        await workflow.execute_local_activity(
            PROJECT_SURVEY, state, start_to_close_timeout=LOCAL_TIMEOUT
        )
