"""Issue 16, goal 4: the Temporal dev server SIGKILLed under load and started again on its
data file loses no ticket and applies no step twice (R3–R6, R21, R37).

Twenty on-site paid lifecycles run over HTTP against real `aftersales api` and `aftersales
worker` processes; when 40 % of their steps have been answered, `temporal server start-dev
--db-filename FILE` is SIGKILLed and, a second later, started again on the same file and port.
The API answers 503 while Temporal is away; the clients re-send with the same Idempotency-Key,
and the API, the worker and the test's own client reconnect by themselves. Once every ticket's
workflow has ended (its customer messages sent), every check of tests/faults/harness.py must
hold, every message included.

SQLite: the fault is in Temporal, whichever database the product writes to.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.faults.harness import running_stack, under_fault

DOWN_SECONDS = 1.0


async def test_temporal_killed_and_restarted_under_load_loses_no_ticket_and_no_message(
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    async with running_stack(tmp_path, f"sqlite:///{tmp_path / 'aftersales.db'}") as stack:

        async def restart_temporal() -> None:
            stack.temporal.kill()
            await asyncio.sleep(DOWN_SECONDS)
            await stack.temporal.start()

        outcome = await under_fault(stack, restart_temporal)
    print(
        f"Temporal killed after {outcome.steps_done}/{outcome.total_steps} steps with"
        f" {outcome.in_flight} requests in flight; {outcome.summary};"
        f" {time.monotonic() - started:.1f} s in all"
    )
    assert outcome.in_flight > 0, "the kill did not land while steps were under way"
    assert not outcome.violations, "\n".join(outcome.violations)
