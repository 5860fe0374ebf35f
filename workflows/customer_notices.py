"""A ticket's messages to its customer (issue 14, R37), sent in the background so no step waits
for a mail server or an SMS gateway: at once, or — in the office's night — the email at once
and the SMS in the morning, by a small `CustomerMessage` workflow that waits for it (so a ticket
closed at night does not stay open). Each goes once (the activity's outbox keys it). A ticket's
workflow ends only once none is in flight."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, WorkflowAlreadyStartedError

from workflows.escalations import InFlight

with workflow.unsafe.imports_passed_through():
    from models.messages import EMAIL, SMS, CustomerNotice, NotifyTerms

NOTIFY_CUSTOMER = "notify_customer"
NOTIFY_TIMEOUT = timedelta(minutes=5)  # longer than a few SMTP timeouts (activities/notify.py)
NOTIFY_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=10))


class CustomerNotices(InFlight):
    """The customer's messages a ticket has under way."""

    def send(self, terms: NotifyTerms, notice: CustomerNotice) -> None:
        """Sends `notice` in the background if the terms name its milestone."""
        if notice.milestone in terms.milestones:
            self.start(self._send(terms, notice))

    @staticmethod
    async def _send(terms: NotifyTerms, notice: CustomerNotice) -> None:
        morning = terms.quiet_ends(workflow.now())
        if morning is None:
            await deliver(notice)
            return
        await deliver(replace(notice, channels=[EMAIL]))
        try:
            await workflow.start_child_workflow(
                CustomerMessageWorkflow.run,
                MorningMessage(replace(notice, channels=[SMS]), morning),
                id=f"message-{notice.key}",
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            pass  # queued before


@dataclass
class MorningMessage:
    notice: CustomerNotice
    send_at: datetime


@workflow.defn(name="CustomerMessage")
class CustomerMessageWorkflow:
    """One message held for the morning (no SMS in the office's night)."""

    @workflow.run
    async def run(self, message: MorningMessage) -> None:
        await workflow.sleep(max(message.send_at - workflow.now(), timedelta(0)))
        await deliver(message.notice)


async def deliver(notice: CustomerNotice) -> None:
    try:
        await workflow.execute_activity(
            NOTIFY_CUSTOMER,
            notice,
            start_to_close_timeout=NOTIFY_TIMEOUT,
            retry_policy=NOTIFY_RETRY,
            result_type=list[str],
        )
    except ActivityError as failed:
        # The ticket goes on whatever became of one message; the outbox shows it.
        workflow.logger.error("%s not sent: %s", notice.key, failed.cause or failed)
