"""Shared by the survey tests: where the customers get their cards (a real SMTP server,
aiosmtpd, and a real SMS gateway, an HTTP server taking the webhook's JSON POST, both on free
local ports), and a survey's start as the ticket workflow gives it."""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from models.followup import SurveyStart
from models.ticket import Customer, Product, SurveyTerms
from tests.ports import free_port

EMAIL = "li.lei@example.com"
PHONE = "13800000000"
LINK = re.compile(r"https?://[^\s]+/surveys/([A-Za-z0-9_-]+)")


class _SmsGateway(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        inbox: Inbox = self.server.inbox  # type: ignore[attr-defined]
        with inbox.lock:
            inbox.sms.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Inbox:
    """Every email and SMS the tests' customers received, in arrival order."""

    def __init__(self) -> None:
        self.emails: list[EmailMessage] = []
        self.sms: list[dict[str, str]] = []
        self.lock = threading.Lock()
        self.smtp_port = free_port()
        self._smtp = Controller(self, hostname="127.0.0.1", port=self.smtp_port)
        self._gateway = ThreadingHTTPServer(("127.0.0.1", free_port()), _SmsGateway)
        self._gateway.inbox = self  # type: ignore[attr-defined]
        self.sms_url = f"http://127.0.0.1:{self._gateway.server_address[1]}/sms"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        email = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(email, EmailMessage)
        with self.lock:
            self.emails.append(email)
        return "250 OK"

    def start(self) -> Inbox:
        self._smtp.start()
        threading.Thread(target=self._gateway.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._smtp.stop()
        self._gateway.shutdown()
        self._gateway.server_close()

    def emails_to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [e for e in self.emails if e["To"] == address]

    def sms_to(self, phone: str) -> list[str]:
        with self.lock:
            return [m["text"] for m in self.sms if m["to"] == phone]


def body(email: EmailMessage) -> str:
    part = email.get_body(("plain",))
    assert part is not None
    text: str = part.get_content()  # type: ignore[attr-defined]
    return text


def token_in(text: str) -> str:
    """The survey token of the one link in `text`."""
    links = LINK.findall(text)
    assert len(links) == 1, text
    return str(links[0])


async def eventually(check: Callable[[], Any], within: float = 20) -> Any:
    """Polls `check` (real time; it may be async) until it returns something truthy; that
    value."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {within}s: {check}")
        await asyncio.sleep(0.05)


def survey_start(
    resolved_at: datetime,
    *,
    delay_hours: float = 24,
    reminder_hours: float = 48,
    expiry_hours: float = 168,
    email: str | None = EMAIL,
    technician: str | None = "tech1",
) -> SurveyStart:
    """What the ticket workflow starts a survey with when a ticket resolves."""
    ticket_id = uuid.uuid4().hex
    return SurveyStart(
        ticket_id=ticket_id,
        ticket_number=f"T2026-{ticket_id[:6]}",
        customer=Customer("Li Lei", PHONE, "1 Ring Road", email),
        product=Product("TV-55", "SN1"),
        technician=technician,
        service_type="paid",
        resolved_at=resolved_at,
        terms=SurveyTerms(delay_hours, reminder_hours, expiry_hours),
    )
