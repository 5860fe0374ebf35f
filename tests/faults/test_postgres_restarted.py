"""Issue 16, goal 4: the PostgreSQL server the product's database lives on, restarted under
load, loses no ticket and applies no step twice (R3–R6, R21, R37).

PostgreSQL: a throwaway cluster of this test's own (tests/faults/harness.py), never the
machine's main server. Twenty on-site paid lifecycles run over HTTP against real `aftersales
api` and `aftersales worker` processes on it; when 40 % of their steps have been answered, it
is stopped (a fast shutdown: every session cut) and started again two seconds later on the same
data and port. The API answers 503 meanwhile and the clients re-send with the same
Idempotency-Key; the worker's activities (projections, invoices, the outbox) fail and are
retried. Once every ticket's workflow has ended (its customer messages sent), every check of
tests/faults/harness.py must hold, every message included.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.faults.harness import Processes, ThrowawayPostgres, running_stack, under_fault

DOWN_SECONDS = 2.0


async def test_postgres_restarted_under_load_loses_no_ticket_and_no_message(
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    processes = Processes(tmp_path)
    postgres = ThrowawayPostgres(processes)
    try:
        await postgres.start()
        database_url = await asyncio.to_thread(postgres.create_database, "aftersales")
        async with running_stack(tmp_path, database_url, processes=processes) as stack:

            async def restart_postgres() -> None:
                await postgres.stop()
                await asyncio.sleep(DOWN_SECONDS)
                await postgres.start()

            outcome = await under_fault(stack, restart_postgres)
    finally:
        postgres.remove()
    print(
        f"PostgreSQL restarted after {outcome.steps_done}/{outcome.total_steps} steps with"
        f" {outcome.in_flight} requests in flight; {outcome.summary};"
        f" {time.monotonic() - started:.1f} s in all"
    )
    assert outcome.in_flight > 0, "the restart did not land while steps were under way"
    assert not outcome.violations, "\n".join(outcome.violations)
