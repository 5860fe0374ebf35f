"""Waiting in workflow code for an instant or for something to happen, whichever comes first:
one durable timer, cancelled when the thing happens."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow


async def passes_before(at: datetime, settled: Callable[[], bool]) -> bool:
    """Waits until `at`; True if it passed before `settled()` became true (then a deadline was
    missed), False as soon as `settled()` is true."""
    if settled():
        return False
    delay = at - workflow.now()
    if delay <= timedelta(0):
        return True
    try:
        await workflow.wait_condition(settled, timeout=delay)
    except TimeoutError:
        return not settled()
    return False
