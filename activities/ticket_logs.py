"""The worker's log lines carry the ticket an activity works on (core/logs.py TICKET_ID), read
from its input: `ticket_id` on the input itself (an invoice request, a notice) or on the
ticket's state it carries (a projection)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from core.logs import about_ticket


def ticket_of(args: Sequence[Any]) -> str | None:
    """The ticket id an activity's arguments name, if any."""
    for arg in args:
        for holder in (arg, getattr(arg, "state", None)):
            found = getattr(holder, "ticket_id", None)
            if isinstance(found, str) and found:
                return found
    return None


class _AboutTicket(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        # Threaded activities run in a copy of this context, so the id reaches them too.
        with about_ticket(ticket_of(input.args)):
            return await super().execute_activity(input)


class TicketLogs(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _AboutTicket(next)
