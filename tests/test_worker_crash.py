"""R21: invoices exactly once, numbered without gaps, even when a worker dies mid-call.

A real `aftersales worker` process is SIGKILLed while it is invoicing 20 tickets, a second one
takes over, and there are exactly 20 invoices, numbered 1…20 with no gap. The kill lands at
one of the two moments that matter, made deterministic without mocks:

- `blocked_in_transaction`: every invoice activity is inside its transaction, waiting for a
  write lock the test holds on the database; the killed attempts must leave no number used.
- `committed_not_reported`: the worker's link to Temporal is cut (a network partition) before
  the lock is let go, so every invoice is committed but no activity's completion ever reaches
  Temporal; the retries must find those invoices instead of issuing new ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from models.lifecycle import Status
from models.ticket import CallIn, Customer, Product, TicketStart, TicketState
from tests.workers import Spawn, kill, temporal_address, worker_processes
from tests.workflows.builders import TERMS, act, register
from workflows.ticket import TicketWorkflow

# The database matters here: run on SQLite and on PostgreSQL.
pytestmark = pytest.mark.both_databases

TICKETS = 20
TECHNICIAN = "tech-crash"
# 60 minutes at TERMS.hourly_rate (120.00) plus the part: a paid job with a fee, invoiced.
FEE = Decimal("155.50")
RESOLVE_PAID = {
    "work_summary": "replaced the power supply",
    "labor_minutes": 60,
    "parts": [{"part_no": "PSU-12", "qty": 1, "unit_price": "35.50"}],
    "customer_signature": "Zhang Wei",
}
INVOICE_ACTIVITY = "issue_invoice"
# Long enough for the activities' 30 s start-to-close timeout, a retry and a sticky-queue
# hand-over to the new worker, with room to spare on a slow machine.
FINISH_TIMEOUT = 120
STEP_TIMEOUT = 60
TRANSIENT = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED}

T = TypeVar("T")


def ticket_start(index: int) -> TicketStart:
    # A serial number the catalog has never seen: the job is paid (R2), so it has a fee.
    call_in = CallIn(
        customer=Customer(f"Customer {index}", f"1390000{index:04d}", f"{index} Crash Lane"),
        product=Product("TV-55", f"CRASH-{uuid.uuid4().hex[:12]}"),
        zone="urban",
        problem="no power",
        channel="phone",
    )
    return TicketStart(f"t-{uuid.uuid4()}", call_in, "clerk1", TERMS, f"crash-{index}")


def ticket_handle(client: Client, ticket_id: str) -> WorkflowHandle[Any, TicketState]:
    return client.get_workflow_handle_for(TicketWorkflow.run, f"ticket-{ticket_id}")


class Relay:
    """A TCP relay between a worker and Temporal that the test can cut: from then on both
    directions are dropped on the floor and the connections stay open, like a partition."""

    def __init__(self, upstream: str) -> None:
        self.host, port = upstream.rsplit(":", 1)
        self.port = int(port)
        self.cut = False
        self.server: asyncio.Server | None = None
        self.pipes: set[asyncio.Task[None]] = set()
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._connected, "127.0.0.1", 0)
        return f"127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(self.host, self.port)
        self.writers += [writer, upstream_writer]
        for source, sink in ((reader, upstream_writer), (upstream_reader, writer)):
            pipe = asyncio.create_task(self._pipe(source, sink))
            self.pipes.add(pipe)
            pipe.add_done_callback(self.pipes.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await source.read(65536):
                if not self.cut:
                    sink.write(data)
                    await sink.drain()
        if not self.cut:
            sink.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for writer in self.writers:
            writer.close()
        for pipe in list(self.pipes):
            pipe.cancel()
        await asyncio.gather(*self.pipes, return_exceptions=True)


@pytest.fixture
async def relay(dev_env: WorkflowEnvironment) -> AsyncIterator[Relay]:
    running = Relay(temporal_address(dev_env))
    try:
        yield running
    finally:
        await running.close()


@pytest.fixture
def spawn_worker(tmp_path: Path, engine: Engine, task_queue: str) -> Iterator[Spawn]:
    """Starts `aftersales worker` processes as an operator would (tests/workers.py)."""
    with worker_processes(tmp_path, engine, task_queue) as spawn:
        yield spawn


@contextmanager
def write_lock(engine: Engine) -> Iterator[Callable[[], None]]:
    """Holds the database's write lock (SQLite) or the counters table's (PostgreSQL), as a
    long transaction of another program would, so that invoicing blocks inside its own
    transaction. Yields the function that lets go of the lock (also done on exit)."""
    if engine.dialect.name == "sqlite":
        assert engine.url.database
        holder = sqlite3.connect(engine.url.database, isolation_level=None, timeout=30)

        def release_sqlite() -> None:
            if holder.in_transaction:
                holder.execute("ROLLBACK")

        try:
            holder.execute("BEGIN EXCLUSIVE")
            yield release_sqlite
        finally:
            release_sqlite()
            holder.close()
        return
    with engine.connect() as connection:
        transaction = connection.begin()

        def release_postgresql() -> None:
            if transaction.is_active:
                transaction.rollback()

        try:
            # Reads go on (EXCLUSIVE mode), writes to `counters` wait: the invoice activity
            # passes its look-up of an existing invoice and blocks on taking a number.
            connection.execute(text("LOCK TABLE counters IN EXCLUSIVE MODE"))
            yield release_postgresql
        finally:
            release_postgresql()


def lock_waiters(engine: Engine) -> int:
    """How many PostgreSQL backends wait on a lock to take an invoice number, that is, are
    inside the invoice activity's transaction; 0 on SQLite, which does not show waiters."""
    if engine.dialect.name != "postgresql":
        return 0
    with engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    " AND query LIKE 'INSERT INTO counters%'"
                )
            ).scalar_one()
        )


async def eventually(check: Callable[[], Awaitable[T | None]], what: str, within: float) -> T:
    """The first truthy answer of `check`, polled for up to `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        if found := await check():
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.1)


async def on_site(client: Client, start: TicketStart, task_queue: str) -> None:
    registered = await register(client, start, task_queue)
    assert registered.service_type == "paid", registered.evidence
    handle = ticket_handle(client, start.ticket_id)
    await handle.execute_update(
        TicketWorkflow.act, act("dispatch", "disp1", ["dispatcher"], technician=TECHNICIAN)
    )
    arrived = await handle.execute_update(
        TicketWorkflow.act, act("arrive", TECHNICIAN, ["technician"])
    )
    assert arrived.status is Status.ON_SITE


async def resolve(client: Client, ticket_id: str, reissued: list[str]) -> TicketState:
    """The paid resolve; a client call that fails in transit is sent again with the same
    update id, which Temporal deduplicates (the update runs once)."""
    handle = ticket_handle(client, ticket_id)
    request = act("resolve", TECHNICIAN, ["technician"], **RESOLVE_PAID)
    for _ in range(5):
        try:
            return await handle.execute_update(
                TicketWorkflow.act, request, id=f"resolve-{ticket_id}"
            )
        except (WorkflowUpdateRPCTimeoutOrCancelledError, RPCError) as error:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the test is giving up, not the network
            if isinstance(error, RPCError) and error.status not in TRANSIENT:
                raise
            reissued.append(f"{ticket_id}: {error!r}")
            await asyncio.sleep(1)
    raise AssertionError(f"the resolve of {ticket_id} kept failing: {reissued}")


async def first_attempts_running_on(
    handles: list[WorkflowHandle[Any, TicketState]], worker: subprocess.Popen[bytes]
) -> bool:
    """Whether every ticket's invoice activity is in its first attempt, started by `worker`
    and neither finished nor failed as far as Temporal knows."""
    for handle in handles:
        pending = [
            p
            for p in (await handle.describe()).raw_description.pending_activities
            if p.activity_type.name == INVOICE_ACTIVITY
        ]
        if not pending or pending[0].state != PendingActivityState.PENDING_ACTIVITY_STATE_STARTED:
            return False
        (activity,) = pending
        assert activity.attempt == 1 and not activity.HasField("last_failure")
        assert activity.last_worker_identity.startswith(f"{worker.pid}@")
    return True


def still_running(tasks: list[asyncio.Task[TicketState]]) -> None:
    """Fails (with the task's own error, if it has one) when an update already finished."""
    for task in tasks:
        if task.done():
            raise AssertionError(f"a resolve finished while invoicing was held up: {task.result()}")


def invoice_rows(connection: Connection) -> list[Any]:
    return list(
        connection.execute(
            text("SELECT number, ticket_id, year, amount FROM invoices ORDER BY number")
        )
    )


def count_invoices(engine: Engine) -> int:
    with engine.connect() as connection:
        return len(invoice_rows(connection))


@pytest.mark.parametrize("moment", ["blocked_in_transaction", "committed_not_reported"])
async def test_worker_killed_mid_invoicing_leaves_exactly_one_invoice_per_job_without_gaps(
    moment: str,
    dev_env: WorkflowEnvironment,
    engine: Engine,
    task_queue: str,
    relay: Relay,
    spawn_worker: Spawn,
) -> None:
    client = dev_env.client
    clock = time.monotonic()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal clock
        timings[name] = round(time.monotonic() - clock, 1)
        clock = time.monotonic()

    assert count_invoices(engine) == 0, "the database must start without invoices"
    # Worker 1 reaches Temporal through the relay, so that its link can be cut; worker 2
    # connects directly.
    first = spawn_worker("worker-1", await relay.start())
    starts = [ticket_start(i) for i in range(TICKETS)]
    await asyncio.wait_for(
        asyncio.gather(*(on_site(client, s, task_queue) for s in starts)), STEP_TIMEOUT
    )
    assert first.poll() is None, "worker 1 exited on its own (see its log below)"
    handles = [ticket_handle(client, s.ticket_id) for s in starts]
    lap("tickets on site")

    reissued: list[str] = []
    resolving: list[asyncio.Task[TicketState]] = []
    try:
        with write_lock(engine) as release_lock:
            resolving = [
                asyncio.create_task(resolve(client, s.ticket_id, reissued)) for s in starts
            ]
            await eventually(
                lambda: first_attempts_running_on(handles, first), "invoicing to start", 20
            )
            if engine.dialect.name == "postgresql":
                # Each activity is inside its transaction, waiting for a number.
                await eventually(
                    lambda: asyncio.to_thread(lambda: lock_waiters(engine) == TICKETS),
                    f"{TICKETS} invoice transactions waiting on the lock",
                    20,
                )
            else:
                # SQLite does not show waiters: give the activities a moment to get from the
                # look-up of an existing invoice (a read, not blocked) to the write that waits.
                await asyncio.sleep(1)
            still_running(resolving)
            lap("invoice activities started and blocked")

            if moment == "committed_not_reported":
                relay.cut = True
                release_lock()
                await eventually(
                    lambda: asyncio.to_thread(lambda: count_invoices(engine) == TICKETS),
                    f"worker 1 to commit {TICKETS} invoices",
                    20,
                )
                lap("invoices committed behind the partition")
            kill(first)
            # Its connections go down with it (else Temporal would keep its polls open and
            # hand a retry to the dead worker behind the cut).
            await relay.close()
            lap("worker 1 killed")
        # The lock is let go. On PostgreSQL the killed worker's backends, if still waiting,
        # now take numbers in transactions that can never commit: no gap may come of it.

        # Temporal never heard how any first attempt ended: it is the retries on worker 2
        # that must make the invoices exactly once.
        assert await first_attempts_running_on(handles, first)
        expected_now = TICKETS if moment == "committed_not_reported" else 0
        assert count_invoices(engine) == expected_now
        still_running(resolving)

        second = spawn_worker("worker-2", temporal_address(dev_env))
        states = await asyncio.wait_for(asyncio.gather(*resolving), FINISH_TIMEOUT)
        lap("worker 2 finished the resolves")
        assert second.poll() is None, "worker 2 exited on its own (see its log below)"
    finally:
        for task in resolving:
            task.cancel()

    print(f"{moment} timings (s): {timings}; update calls re-sent: {len(reissued)} {reissued}")

    # Every update answered, with the ticket resolved and its invoice.
    assert [s.ticket_id for s in states] == [s.ticket_id for s in starts]
    assert all(s.status is Status.RESOLVED and s.invoice is not None for s in states)
    year = states[0].invoice.issued_at.year  # type: ignore[union-attr]
    assert {s.invoice.issued_at.year for s in states} == {year}  # type: ignore[union-attr]

    # Exactly 20 invoices, one per ticket, numbered 1…20 without gaps or duplicates.
    with engine.connect() as connection:
        rows = invoice_rows(connection)
        counter = connection.execute(
            text("SELECT value FROM counters WHERE name = :name"), {"name": f"invoice:{year}"}
        ).scalar_one()
        read_model = {
            row.id: row
            for row in connection.execute(
                text("SELECT id, status, invoice, amount_due FROM tickets")
            )
        }
    assert [r.number for r in rows] == [f"INV-{year}-{n:06d}" for n in range(1, TICKETS + 1)]
    assert sorted(r.ticket_id for r in rows) == sorted(s.ticket_id for s in starts)
    assert {r.year for r in rows} == {year}
    assert {Decimal(r.amount) for r in rows} == {FEE}
    assert counter == TICKETS
    number_of = {r.ticket_id: r.number for r in rows}
    attempts: list[int] = []

    for start, handle in zip(starts, handles, strict=True):
        # The workflow holds the very invoice the database has, and so does the read model.
        state = await handle.query(TicketWorkflow.state_query)
        assert state.status is Status.RESOLVED
        assert state.invoice is not None
        assert state.invoice.number == number_of[start.ticket_id]
        assert state.invoice.amount == FEE and state.amount_due == FEE
        ticket = read_model[start.ticket_id]
        assert ticket.status == "resolved"
        invoice = ticket.invoice
        if isinstance(invoice, str):  # JSON comes back as text from a raw SQLite query
            invoice = json.loads(invoice)
        assert invoice["number"] == number_of[start.ticket_id]
        assert Decimal(invoice["amount"]) == FEE and Decimal(ticket.amount_due) == FEE

        # The workflow asked for one invoice, and got it from a retry on worker 2 after
        # worker 1's attempt timed out: the kill really landed mid-call.
        history = await handle.fetch_history()
        scheduled = {
            e.event_id
            for e in history.events
            if e.HasField("activity_task_scheduled_event_attributes")
            and e.activity_task_scheduled_event_attributes.activity_type.name == INVOICE_ACTIVITY
        }
        assert len(scheduled) == 1
        (started,) = [
            e.activity_task_started_event_attributes
            for e in history.events
            if e.HasField("activity_task_started_event_attributes")
            and e.activity_task_started_event_attributes.scheduled_event_id in scheduled
        ]
        assert started.attempt >= 2
        attempts.append(started.attempt)
        assert started.last_failure.HasField("timeout_failure_info")
        assert started.identity.startswith(f"{second.pid}@")
    print(f"{moment}: the invoices came from attempts {sorted(attempts)}")
