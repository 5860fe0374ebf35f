"""`aftersales notify test`: an operator checks the mail settings with one real email."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mail import SmtpServer
from tests.ports import free_port
from tests.test_cli import aftersales


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def test_notify_test_sends_one_email_through_the_configured_server(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    ran = aftersales(
        tmp_path,
        "notify",
        "test",
        "--to",
        "ops@example.com",
        smtp_host="127.0.0.1",
        smtp_port=str(smtp.port),
        smtp_from="aftersales@example.com",
    )
    assert ran.returncode == 0, ran.stderr
    assert f"sent a test email to ops@example.com via 127.0.0.1:{smtp.port}" in ran.stdout
    assert smtp.recipients() == ["ops@example.com"]
    assert smtp.mailbox.envelopes[0].mail_from == "aftersales@example.com"
    (mail,) = smtp.messages()
    assert mail["Subject"] == "aftersales: test message"


def test_notify_test_reports_a_server_that_does_not_answer(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    ran = aftersales(
        tmp_path,
        "notify",
        "test",
        "--to",
        "ops@example.com",
        smtp_host="127.0.0.1",
        smtp_port=str(port),
    )
    assert ran.returncode == 1
    assert f"error: not sent to ops@example.com via 127.0.0.1:{port}" in ran.stderr


def test_notify_test_reports_a_refused_recipient(tmp_path: Path, smtp: SmtpServer) -> None:
    smtp.mailbox.refuse.add("nobody@example.com")
    ran = aftersales(
        tmp_path,
        "notify",
        "test",
        "--to",
        "nobody@example.com",
        smtp_host="127.0.0.1",
        smtp_port=str(smtp.port),
    )
    assert ran.returncode == 1
    assert "550" in ran.stderr and "no such mailbox" in ran.stderr
    assert smtp.mailbox.envelopes == []


def test_notify_test_without_a_mail_server_says_what_to_set(tmp_path: Path) -> None:
    ran = aftersales(tmp_path, "notify", "test", "--to", "ops@example.com")
    assert ran.returncode == 1
    assert "AFTERSALES_SMTP_HOST" in ran.stderr
