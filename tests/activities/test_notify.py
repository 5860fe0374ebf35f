"""Notifications are sent exactly once per (key, channel, recipient): escalation emails to staff
(R16) and messages by email or SMS (R22), through a real SMTP server (aiosmtpd) and a real
HTTP gateway, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.error import HTTPError

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session as DbSession
from sqlmodel import col, select
from temporalio.testing import ActivityEnvironment

from activities.notify import NotifyActivities, SmsWebhookSender, message_id, senders_from
from core.config import Settings
from models.escalation import EscalationKind, EscalationNotice, new_escalation
from models.messages import OutgoingMessage
from models.roles import Role
from models.tables import NotificationRecord, User
from store.users import create_user
from tests.mail import SmtpServer

# The database matters here: run on SQLite and on PostgreSQL.
pytestmark = pytest.mark.both_databases

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SENDER = "aftersales@example.com"
BODY = "工单 T2026-000001 已逾期：请立即派工。"  # non-ASCII on purpose: UTF-8 end to end


class Gateway:
    """A tiny SMS gateway: takes the JSON POST, answers `status`, keeps what it was sent."""

    def __init__(self) -> None:
        self.status = 200
        self.requests: list[tuple[dict[str, Any], int]] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                gateway.requests.append((body, gateway.status))
                self.send_response(gateway.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def accepted(self) -> list[dict[str, Any]]:
        return [body for body, status in self.requests if status == 200]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    running = Gateway()
    yield running
    running.close()


def mail_settings(smtp: SmtpServer | None) -> Settings:
    return Settings(
        smtp_host="127.0.0.1" if smtp else None,
        smtp_port=smtp.port if smtp else 25,
        smtp_from=f"Aftersales <{SENDER}>",
        smtp_timeout_seconds=5,
        sms_webhook_url=None,
        _env_file=None,
    )


def add_user(engine: Engine, username: str, roles: list[Role], email: str | None) -> None:
    with DbSession(engine) as db:
        create_user(
            db,
            username=username,
            password="password-123",
            full_name=username.title(),
            roles=roles,
            email=email,
        )


def deactivate(engine: Engine, username: str) -> None:
    with DbSession(engine) as db:
        user = db.get(User, username)
        assert user is not None
        user.active = False
        db.add(user)
        db.commit()


def add_staff(engine: Engine) -> None:
    """Dispatchers and directors are told of an overdue arrival (R12, R16); the others not."""
    add_user(engine, "disp1", [Role.DISPATCHER], "disp1@example.com")
    add_user(engine, "dir1", [Role.DIRECTOR, Role.MANAGER], "dir1@example.com")
    add_user(engine, "disp2", [Role.DISPATCHER], None)  # no email: cannot be told
    add_user(engine, "disp3", [Role.DISPATCHER], "disp3@example.com")
    deactivate(engine, "disp3")  # left the company
    add_user(engine, "tech1", [Role.TECHNICIAN], "tech1@example.com")  # not an owner
    add_user(engine, "clerk1", [Role.CLERK], "clerk1@example.com")


def overdue_notice(key: str = "") -> EscalationNotice:
    escalation = new_escalation(
        uuid.uuid4().hex, EscalationKind.ARRIVAL_OVERDUE, "ticket-1", "ticket-1", T0, T0
    )
    subject = "Escalation: arrival overdue on T2026-000001"
    return EscalationNotice(escalation, "T2026-000001", subject, BODY, key)


def outbox(engine: Engine) -> dict[tuple[str, str], str]:
    """(channel, recipient) → status of every row in the outbox."""
    with DbSession(engine) as db:
        rows = db.exec(select(NotificationRecord)).all()
    return {(row.channel, row.recipient): row.status for row in rows}


def sent_at_of(engine: Engine) -> list[datetime | None]:
    with DbSession(engine) as db:
        return list(db.exec(select(col(NotificationRecord.sent_at))).all())


async def test_escalation_email_goes_to_active_staff_in_its_roles_with_an_email(
    engine: Engine, smtp: SmtpServer
) -> None:  # R16
    add_staff(engine)
    notify = NotifyActivities(engine, senders_from(mail_settings(smtp)))
    notice = overdue_notice()

    told = await ActivityEnvironment().run(notify.notify_escalation, notice)

    assert told == 2
    assert smtp.recipients() == ["dir1@example.com", "disp1@example.com"]
    assert all(e.mail_from == SENDER for e in smtp.mailbox.envelopes)
    key = f"escalation:{notice.escalation.id}"
    for mail in smtp.messages():
        assert mail["Subject"] == notice.subject
        assert mail["From"] == f"Aftersales <{SENDER}>"
        expected = OutgoingMessage(key, "email", mail["To"], notice.subject, BODY)
        assert mail["Message-ID"] == message_id(expected, "example.com")
        assert mail.get_content().strip() == BODY
    assert outbox(engine) == {
        ("email", "dir1@example.com"): "sent",
        ("email", "disp1@example.com"): "sent",
    }
    assert all(at is not None for at in sent_at_of(engine))


async def test_an_escalation_notified_twice_is_emailed_once(
    engine: Engine, smtp: SmtpServer
) -> None:  # R16: notified once
    add_staff(engine)
    notify = NotifyActivities(engine, senders_from(mail_settings(smtp)))
    notice = overdue_notice()
    env = ActivityEnvironment()

    assert await env.run(notify.notify_escalation, notice) == 2
    assert await env.run(notify.notify_escalation, notice) == 2  # they have it: nothing sent
    assert len(smtp.mailbox.envelopes) == 2

    # A second notice about the same escalation (its own key) is a new message.
    later = EscalationNotice(notice.escalation, notice.ticket_number, "Still overdue", BODY, ":2")
    assert await env.run(notify.notify_escalation, later) == 2
    assert len(smtp.mailbox.envelopes) == 4
    ids = {mail["Message-ID"] for mail in smtp.messages()}
    assert len(ids) == 4


async def test_mail_server_down_raises_and_the_retry_sends_exactly_once(
    engine: Engine, smtp: SmtpServer
) -> None:  # R16
    add_staff(engine)
    notify = NotifyActivities(engine, senders_from(mail_settings(smtp)))
    notice = overdue_notice()
    env = ActivityEnvironment()

    smtp.stop()
    with pytest.raises(RuntimeError, match="2 of 2 escalation emails not sent"):
        await env.run(notify.notify_escalation, notice)
    assert set(outbox(engine).values()) == {"pending"}
    assert sent_at_of(engine) == [None, None]

    smtp.start()
    assert await env.run(notify.notify_escalation, notice) == 2  # Temporal's retry
    assert await env.run(notify.notify_escalation, notice) == 2  # a redelivery
    assert smtp.recipients() == ["dir1@example.com", "disp1@example.com"]
    assert set(outbox(engine).values()) == {"sent"}


async def test_a_refused_recipient_is_rejected_once_and_the_others_still_get_it(
    engine: Engine, smtp: SmtpServer
) -> None:  # R16
    add_staff(engine)
    smtp.mailbox.refuse.add("disp1@example.com")
    notify = NotifyActivities(engine, senders_from(mail_settings(smtp)))
    notice = overdue_notice()
    env = ActivityEnvironment()

    assert await env.run(notify.notify_escalation, notice) == 1
    assert await env.run(notify.notify_escalation, notice) == 1  # not retried, not resent
    assert smtp.recipients() == ["dir1@example.com"]
    assert outbox(engine) == {
        ("email", "dir1@example.com"): "sent",
        ("email", "disp1@example.com"): "rejected",
    }


async def test_without_a_mail_server_messages_are_recorded_skipped_and_not_sent(
    engine: Engine, smtp: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:  # R16, R22
    add_staff(engine)
    senders = senders_from(mail_settings(None))
    assert senders == {}
    notify = NotifyActivities(engine, senders)
    env = ActivityEnvironment()
    card = OutgoingMessage("survey:ticket-1", "email", "li@example.com", "How did we do?", BODY)

    with caplog.at_level(logging.WARNING, logger="aftersales.notify"):
        assert await env.run(notify.notify_escalation, overdue_notice()) == 0
        assert await env.run(notify.send_message, card) == "skipped"
        assert await env.run(notify.send_message, card) == "skipped"

    assert smtp.mailbox.envelopes == []
    assert set(outbox(engine).values()) == {"skipped"}
    assert len(outbox(engine)) == 3
    assert "no email channel configured" in caplog.text


async def test_nobody_with_an_email_is_told_nothing_and_it_is_logged(
    engine: Engine, smtp: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:  # R16
    add_user(engine, "disp2", [Role.DISPATCHER], None)
    notify = NotifyActivities(engine, senders_from(mail_settings(smtp)))
    notice = overdue_notice()

    with caplog.at_level(logging.WARNING, logger="aftersales.notify"):
        assert await ActivityEnvironment().run(notify.notify_escalation, notice) == 0

    assert smtp.mailbox.envelopes == [] and outbox(engine) == {}
    assert notice.escalation.id in caplog.text and "has an email" in caplog.text


async def test_a_message_by_email_is_sent_once(engine: Engine, smtp: SmtpServer) -> None:  # R22
    notify = NotifyActivities(engine, senders_from(mail_settings(smtp)))
    card = OutgoingMessage("survey:ticket-1", "email", "li@example.com", "How did we do?", BODY)
    env = ActivityEnvironment()

    assert await env.run(notify.send_message, card) == "sent"
    assert await env.run(notify.send_message, card) == "sent"

    assert smtp.recipients() == ["li@example.com"]
    (mail,) = smtp.messages()
    assert mail["Subject"] == "How did we do?" and mail.get_content().strip() == BODY


async def test_a_message_by_sms_goes_to_the_gateway_once(
    engine: Engine, gateway: Gateway
) -> None:  # R22
    settings = mail_settings(None).model_copy(update={"sms_webhook_url": gateway.url})
    notify = NotifyActivities(engine, senders_from(settings))
    card = OutgoingMessage("survey:ticket-1", "sms", "13800000000", "Survey", f"请评价: {BODY}")
    env = ActivityEnvironment()

    assert await env.run(notify.send_message, card) == "sent"
    assert await env.run(notify.send_message, card) == "sent"

    assert gateway.accepted() == [{"to": "13800000000", "text": card.body}]
    assert outbox(engine) == {("sms", "13800000000"): "sent"}


async def test_an_sms_gateway_failure_raises_and_the_retry_sends_once(
    engine: Engine, gateway: Gateway
) -> None:  # R22
    notify = NotifyActivities(engine, {"sms": SmsWebhookSender(gateway.url, timeout_seconds=5)})
    card = OutgoingMessage("survey:ticket-2", "sms", "13900000000", "Survey", "Rate us")
    env = ActivityEnvironment()

    gateway.status = 503
    with pytest.raises(HTTPError):
        await env.run(notify.send_message, card)
    assert outbox(engine) == {("sms", "13900000000"): "pending"}

    gateway.status = 200
    assert await env.run(notify.send_message, card) == "sent"
    assert await env.run(notify.send_message, card) == "sent"
    assert gateway.accepted() == [{"to": "13900000000", "text": "Rate us"}]

    # A number the gateway refuses for good is rejected, and not tried again.
    gateway.status = 400
    wrong = OutgoingMessage("survey:ticket-3", "sms", "123", "Survey", "Rate us")
    assert await env.run(notify.send_message, wrong) == "rejected"
    assert await env.run(notify.send_message, wrong) == "rejected"
    assert [body["to"] for body, _ in gateway.requests].count("123") == 1


def test_the_sms_webhook_must_be_an_http_url() -> None:
    with pytest.raises(ValueError, match="http"):
        SmsWebhookSender("file:///etc/passwd")
