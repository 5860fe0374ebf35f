"""Escalation notices (R16), sent the same way by every workflow that raises escalations:
in the background, so no step waits for a mail server, each notice to its owners once (the
activity's outbox), retried while the mail server is down. A workflow ends only once none is
in flight."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from models.escalation import EscalationNotice

NOTIFY_ESCALATION = "notify_escalation"
NOTIFY_TIMEOUT = timedelta(minutes=5)  # longer than a few SMTP timeouts (activities/notify.py)
NOTIFY_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=10))


class InFlight:
    """Messages a workflow has under way in the background; it ends once they are settled."""

    def __init__(self) -> None:
        self.in_flight = 0
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, work: Coroutine[Any, Any, None]) -> None:
        self.in_flight += 1
        self._tasks.append(asyncio.create_task(self._counted(work)))

    def settled(self) -> bool:
        """Whether everything started is delivered (or failed for good)."""
        return self.in_flight == 0

    async def _counted(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        finally:
            self.in_flight -= 1


class Notices(InFlight):
    """The escalation notices a workflow has under way."""

    def send(self, notice: EscalationNotice) -> None:
        """Delivers `notice` in the background."""
        self.start(self.deliver(notice))

    async def deliver(self, notice: EscalationNotice) -> None:
        """Delivers `notice` now (complaints started before notices went to the background)."""
        try:
            await workflow.execute_activity(
                NOTIFY_ESCALATION,
                notice,
                start_to_close_timeout=NOTIFY_TIMEOUT,
                retry_policy=NOTIFY_RETRY,
                result_type=int,
            )
        except ActivityError as failed:
            # The escalation stays on the open list whatever became of its email.
            workflow.logger.error(
                "escalation %s not notified: %s", notice.escalation.id, failed.cause or failed
            )
