"""Issue 14, R37: a worker killed between sending a customer's email and recording it does not
make the customer read it twice (activities/notify.py, the outbox).

A real `aftersales worker` process runs `notify_customer` for a customer whose record says
`notify_by = email`. The real SMTP server (aiosmtpd) keeps the message and holds back its
`250`, and the worker is SIGKILLed while it waits: the server has the message, the outbox row
stays `pending`. A second worker takes the retry and sends again, with the same Message-ID, so
a mail system that keeps one message per Message-ID shows the customer one; the row is `sent`
once; and delivering the notice again sends nothing.

The ticket workflow gives `notify_customer` a 5-minute start-to-close timeout (NOTIFY_TIMEOUT),
and Temporal retries a killed worker's attempt only when it runs out; the time-skipping test
server does not skip time while an activity is in flight. So here a small workflow schedules
the very activity, with the notice the ticket workflow sends at `registered` and its retry
policy, on the workers' task queue, with a 10-second timeout (longer than the workers'
`smtp_timeout_seconds`, as activities/notify.py asks).

SQLite only: the window tested is between the mail server and the outbox, whichever database
holds the outbox (tests/activities/test_notify.py runs the outbox on both).
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.engine import Engine
from sqlmodel import Session as DbSession
from sqlmodel import col, select
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.notify import message_id
from models.messages import EMAIL, PENDING, SENT, CustomerNotice, Milestone, OutgoingMessage
from models.tables import NotificationRecord
from store import catalog
from tests.mail import Mailbox, SmtpServer
from tests.workers import Spawn, kill, temporal_address, worker_processes
from workflows.customer_notices import NOTIFY_CUSTOMER, NOTIFY_RETRY

DOMAIN = "repairs.example"
SENDER = f"aftersales@{DOMAIN}"
ADDRESS = "ann.lee@example.com"
PHONE = "13600005678"
SMTP_TIMEOUT_SECONDS = 5
ATTEMPT_TIMEOUT = timedelta(seconds=10)
STEP_TIMEOUT = 60  # worker start-up, the attempt's timeout and the retry, on a slow machine


class HeldReply(Mailbox):
    """Keeps every message; the reply to the first waits until `reply` is set (or a minute):
    `received` is set when the server has that message."""

    def __init__(self) -> None:
        super().__init__()
        self.received = threading.Event()
        self.reply = threading.Event()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        if len(self.envelopes) == 1:
            self.received.set()
            await asyncio.to_thread(self.reply.wait, STEP_TIMEOUT)
        return answer


class HoldingSmtpServer(SmtpServer):
    def __init__(self) -> None:
        super().__init__()
        self.mailbox = self.held = HeldReply()


@dataclass
class Delivery:
    notice: CustomerNotice
    task_queue: str
    """The workers' task queue, where `notify_customer` runs."""


@workflow.defn(name="NotifyCrashDelivery", sandboxed=False)
class DeliveryWorkflow:
    """The ticket workflow's `deliver` (workflows/customer_notices.py), with a short timeout."""

    @workflow.run
    async def run(self, delivery: Delivery) -> list[str]:
        statuses: list[str] = await workflow.execute_activity(
            NOTIFY_CUSTOMER,
            delivery.notice,
            task_queue=delivery.task_queue,
            start_to_close_timeout=ATTEMPT_TIMEOUT,
            retry_policy=NOTIFY_RETRY,
            result_type=list[str],
        )
        return statuses


@pytest.fixture
def smtp_server() -> Iterator[HoldingSmtpServer]:
    server = HoldingSmtpServer()
    server.start()
    yield server
    server.held.reply.set()
    server.stop()


@pytest.fixture
def spawn_worker(
    tmp_path: Path, engine: Engine, task_queue: str, smtp_server: HoldingSmtpServer
) -> Iterator[Spawn]:
    with worker_processes(
        tmp_path,
        engine,
        task_queue,
        smtp_host="127.0.0.1",
        smtp_port=str(smtp_server.port),
        smtp_from=SENDER,
        smtp_timeout_seconds=str(SMTP_TIMEOUT_SECONDS),
    ) as spawn:
        yield spawn


def registered_notice(engine: Engine) -> CustomerNotice:
    """A customer who wants email, and the notice a ticket of theirs sends at `registered`
    (TicketWorkflow._tell_customer)."""
    with DbSession(engine) as db:
        customer = catalog.create_customer(
            db,
            {
                "name": "Ann Lee",
                "phone": PHONE,
                "address": "2 Bund",
                "email": ADDRESS,
                "language": "en",
                "notify_by": "email",
            },
        )
    ticket_id = f"t-{uuid.uuid4()}"
    return CustomerNotice(
        f"notice:{ticket_id}:registered",
        Milestone.REGISTERED.value,
        customer.id,
        PHONE,
        None,
        {"customer": "Ann Lee", "number": "T2026-000042", "product": "TV-55"},
        {"arrival_due": datetime.now(UTC) + timedelta(hours=4)},
        "Asia/Shanghai",
        ticket_id=ticket_id,
    )


def outbox(engine: Engine, key: str) -> list[NotificationRecord]:
    with DbSession(engine) as db:
        return list(db.exec(select(NotificationRecord).where(col(NotificationRecord.key) == key)))


async def test_a_worker_killed_before_recording_an_email_leaves_the_customer_one_message(
    dev_env: WorkflowEnvironment,
    engine: Engine,
    task_queue: str,
    smtp_server: HoldingSmtpServer,
    spawn_worker: Spawn,
) -> None:
    client, held = dev_env.client, smtp_server.held
    started_at = time.monotonic()
    notice = registered_notice(engine)
    delivery = Delivery(notice, task_queue)
    first = spawn_worker("worker-1", temporal_address(dev_env))

    async with Worker(client, task_queue=f"{task_queue}-deliveries", workflows=[DeliveryWorkflow]):
        handle = await client.start_workflow(
            DeliveryWorkflow.run,
            delivery,
            id=f"delivery-{uuid.uuid4()}",
            task_queue=f"{task_queue}-deliveries",
        )
        # The server has the message; worker 1 waits for the 250 and dies waiting.
        assert await asyncio.to_thread(held.received.wait, STEP_TIMEOUT), "no email arrived"
        assert first.poll() is None, "worker 1 exited on its own (see its log below)"
        kill(first)
        held.reply.set()  # to a dead connection
        [row] = outbox(engine, notice.key)
        assert (row.channel, row.recipient, row.status) == (EMAIL, ADDRESS, PENDING)
        assert len(held.envelopes) == 1

        # Temporal retries when the attempt's timeout runs out, on worker 2.
        second = spawn_worker("worker-2", temporal_address(dev_env))
        assert await asyncio.wait_for(handle.result(), STEP_TIMEOUT) == [SENT]
        retried = time.monotonic() - started_at
        # The notice delivered again (a replayed step, a redelivered task): nothing more goes.
        again = await asyncio.wait_for(
            client.execute_workflow(
                DeliveryWorkflow.run,
                delivery,
                id=f"delivery-again-{uuid.uuid4()}",
                task_queue=f"{task_queue}-deliveries",
            ),
            STEP_TIMEOUT,
        )
        assert again == [SENT]
    assert second.poll() is None, "worker 2 exited on its own (see its log below)"
    print(f"retried after {retried:.1f} s, done after {time.monotonic() - started_at:.1f} s")

    # The answer came from the retry on worker 2, after worker 1's attempt timed out.
    history = await handle.fetch_history()
    [started] = [
        e.activity_task_started_event_attributes
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
    ]
    assert started.attempt == 2
    assert started.last_failure.HasField("timeout_failure_info")
    assert started.identity.startswith(f"{second.pid}@")

    # Sent twice, recorded once.
    [row] = outbox(engine, notice.key)
    assert (row.channel, row.recipient, row.status) == (EMAIL, ADDRESS, SENT)
    assert row.sent_at is not None
    delivered = smtp_server.messages()
    assert smtp_server.recipients() == [ADDRESS, ADDRESS]
    subject = f"Your repair request {notice.texts['number']} is registered"
    assert [str(m["Subject"]) for m in delivered] == [subject, subject]
    body = delivered[0].get_content()
    assert delivered[1].get_content() == body

    # Both with the Message-ID of (key, channel, recipient): the customer's mailbox, keeping
    # one message per Message-ID, holds one.
    ids = [m["Message-ID"] for m in delivered]
    mailbox = {m["Message-ID"]: m for m in delivered}
    assert len(mailbox) == 1, f"the customer's mailbox holds {len(mailbox)}: {ids}"
    expected = message_id(OutgoingMessage(notice.key, EMAIL, ADDRESS, subject, body), DOMAIN)
    assert ids == [expected, expected]
