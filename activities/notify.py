"""Messages sent exactly once: escalation emails to staff (R16) and survey cards to customers by
email or SMS (R22).

Every message goes through an outbox row in `notifications`, unique per (key, channel,
recipient). The row is written `pending` before sending and marked `sent` once the mail server
or SMS gateway has accepted the message; a retried or redelivered activity finds it `sent` (or
`skipped`, or `rejected`) and sends nothing.

Where "exactly once" can become "twice": the outbox and the mail server cannot commit together.
If the server accepts the message and the worker dies (or the database stays away longer than
RECORD_SENT_PATIENCE_SECONDS: a shorter outage is waited out) before the row is marked `sent`,
the retry finds the row `pending` and sends the message again. The same happens
when an attempt outlives its start-to-close timeout and Temporal runs the retry alongside it,
so give these activities a timeout longer than `smtp_timeout_seconds`. Every attempt at an
email carries the same Message-ID, derived from (key, channel, recipient), so a receiving mail
system or client can drop the duplicate; an SMS has no such header. Marking the row before
sending would close this window by opening a worse one: a crash would lose the message.

Statuses: `pending` (not sent yet, or the last attempt failed and Temporal retries), `sent`,
`skipped` (no sender configured for the channel: logged, never sent later), `rejected` (refused
for good: an SMTP 5xx to the recipient, or an HTTP 400/422 from the SMS gateway: logged, not
retried).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import urllib.request
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Protocol
from urllib.error import HTTPError
from urllib.parse import urlsplit

import aiosmtplib
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.customer_messages import render
from activities.documents import Letterhead, render_pdf
from core.config import Settings
from models.documents import DocumentKind
from models.escalation import EscalationNotice
from models.messages import (
    EMAIL,
    PENDING,
    REJECTED,
    SENT,
    SKIPPED,
    SMS,
    Attachment,
    CustomerNotice,
    Language,
    Milestone,
    NotifyBy,
    OutgoingMessage,
    StaffNotice,
    way_to_tell,
)
from models.tables import utcnow
from store import catalog, documents, notifications, users
from store.files import FileStore

log = logging.getLogger("aftersales.notify")

MAX_KEY, MAX_RECIPIENT = 200, 254  # the outbox's column sizes
PDF = "application/pdf"
SMS_REJECTED = {400, 422}  # the gateway says this message or number is wrong; others may pass
# How long a message the server has accepted waits for the database to record it `sent`
# before the attempt fails (and its retry sends it again): longer than a database restart,
# well within the activities' start-to-close timeouts (workflows/customer_notices.py).
RECORD_SENT_PATIENCE_SECONDS = 60.0
DATABASE_OUTAGES = (OperationalError, InterfaceError, PoolTimeout)


class MessageRejected(Exception):
    """The server refused the message for good; sending it again would not help."""


class Sender(Protocol):
    channel: str

    async def send(self, message: OutgoingMessage) -> None:
        """Hands the message over. Raises MessageRejected when it is refused for good, any
        other exception when a later attempt may succeed."""
        ...


def message_id(message: OutgoingMessage, domain: str) -> str:
    """The same Message-ID on every attempt at the same message, so receivers can de-duplicate."""
    digest = hashlib.sha256(
        f"{message.key}\n{message.channel}\n{message.recipient}".encode()
    ).hexdigest()
    return f"<{digest[:40]}@{domain}>"


class SmtpSender:
    """Email through the configured SMTP server."""

    channel = EMAIL

    def __init__(self, settings: Settings) -> None:
        if not settings.smtp_host:
            raise ValueError("no SMTP server: smtp_host is not set")
        self.settings = settings
        sender = parseaddr(settings.smtp_from)[1]
        self.domain = sender.rpartition("@")[2] or "aftersales.localhost"

    def compose(self, message: OutgoingMessage) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.settings.smtp_from
        email["To"] = message.recipient
        email["Subject"] = " ".join(message.subject.split())  # no line breaks in a header
        email["Date"] = formatdate(usegmt=True)
        email["Message-ID"] = message_id(message, self.domain)
        email.set_content(message.body, charset="utf-8")
        for attachment in message.attachments:
            maintype, _, subtype = attachment.content_type.partition("/")
            email.add_attachment(
                attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename
            )
        return email

    async def send(self, message: OutgoingMessage) -> None:
        settings = self.settings
        try:
            email = self.compose(message)
        except ValueError as bad:  # e.g. an address that is not one
            raise MessageRejected(f"cannot write an email to {message.recipient!r}: {bad}") from bad
        try:
            await aiosmtplib.send(
                email,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username,
                password=settings.smtp_password,
                start_tls=settings.smtp_starttls,
                timeout=settings.smtp_timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as refused:
            if all(r.code >= 500 for r in refused.recipients):
                raise MessageRejected(f"the mail server refused: {refused}") from refused
            raise


class SmsWebhookSender:
    """SMS through a gateway that takes a JSON POST `{"to": phone, "text": body}`."""

    channel = SMS

    def __init__(self, url: str, timeout_seconds: float = 10) -> None:
        if urlsplit(url).scheme not in {"http", "https"}:
            raise ValueError(f"the SMS webhook must be an http(s) URL, not {url!r}")
        self.url = url
        self.timeout_seconds = timeout_seconds

    def _post(self, message: OutgoingMessage) -> None:
        request = urllib.request.Request(
            self.url,
            data=json.dumps({"to": message.recipient, "text": message.body}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                response.read()
        except HTTPError as error:
            if error.code in SMS_REJECTED:
                raise MessageRejected(f"the SMS gateway refused: HTTP {error.code}") from error
            raise

    async def send(self, message: OutgoingMessage) -> None:
        await asyncio.to_thread(self._post, message)


def senders_from(settings: Settings) -> dict[str, Sender]:
    """A sender for each channel the settings configure; none for the others."""
    senders: dict[str, Sender] = {}
    if settings.smtp_host:
        senders[EMAIL] = SmtpSender(settings)
    if settings.sms_webhook_url:
        senders[SMS] = SmsWebhookSender(settings.sms_webhook_url, settings.smtp_timeout_seconds)
    return senders


def _check(message: OutgoingMessage) -> None:
    """A message the outbox cannot hold is a bug in the caller; retrying would not fix it."""
    if not message.key or len(message.key) > MAX_KEY:
        raise ApplicationError(
            f"a message key must have 1 to {MAX_KEY} characters: {message.key!r}",
            type="BadMessage",
            non_retryable=True,
        )
    if not message.recipient or len(message.recipient) > MAX_RECIPIENT:
        raise ApplicationError(
            f"a recipient must have 1 to {MAX_RECIPIENT} characters: {message.recipient!r}",
            type="BadMessage",
            non_retryable=True,
        )


class NotifyActivities:
    """Sends messages through `senders` (one per channel), each exactly once, via the outbox."""

    def __init__(
        self,
        engine: Engine,
        senders: dict[str, Sender],
        files: FileStore | None = None,
        status_link: Callable[[str], str] | None = None,
    ) -> None:
        self.engine = engine
        self.senders = senders
        self.files = files
        self.status_link = status_link
        """The customer's status link of a ticket (by its id), told at registration."""

    async def _deliver(self, message: OutgoingMessage) -> str:
        _check(message)
        status = await asyncio.to_thread(notifications.open_message, self.engine, message)
        if status != PENDING:
            return status
        sender = self.senders.get(message.channel)
        if sender is None:
            log.warning(
                "no %s channel configured: %r to %s recorded as skipped, not sent",
                message.channel,
                message.key,
                message.recipient,
            )
            return await asyncio.to_thread(
                notifications.close_message, self.engine, message, SKIPPED, None
            )
        try:
            await sender.send(message)
        except MessageRejected as refused:
            log.error("%r to %s rejected, not retried: %s", message.key, message.recipient, refused)
            return await asyncio.to_thread(
                notifications.close_message, self.engine, message, REJECTED, None
            )
        return await self._record_sent(message)

    async def _record_sent(self, message: OutgoingMessage) -> str:
        """Marks an accepted message `sent`, waiting out a database outage of up to
        RECORD_SENT_PATIENCE_SECONDS: failing at once would make the retry send it again (a
        PostgreSQL restart under load did, tests/faults/test_postgres_restarted.py)."""
        sent_at, pause = utcnow(), 0.2
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RECORD_SENT_PATIENCE_SECONDS
        while True:
            try:
                return await asyncio.to_thread(
                    notifications.close_message, self.engine, message, SENT, sent_at
                )
            except DATABASE_OUTAGES as outage:
                if loop.time() + pause > deadline:
                    raise
                log.warning(
                    "%r to %s was sent; recording it waits for the database: %s",
                    message.key,
                    message.recipient,
                    outage,
                )
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)

    @activity.defn
    async def send_message(self, message: OutgoingMessage) -> str:
        """Sends `message` unless it was sent (or skipped, or rejected) before; returns the
        status: `sent`, `skipped` or `rejected`. Raises when it may work later."""
        return await self._deliver(message)

    @activity.defn
    async def notify_escalation(self, notice: EscalationNotice) -> int:
        """R16: emails the escalation to the active staff in its notify roles, once each;
        returns how many have it now."""
        escalation = notice.escalation
        what = f"escalation {escalation.id} ({escalation.kind}, ticket {notice.ticket_number})"
        return await self._tell_staff(
            f"escalation:{escalation.id}{notice.key}",
            escalation.notify_roles,
            notice.subject,
            notice.body,
            what,
            "escalation emails",
            notice.branch,
        )

    @activity.defn
    async def notify_customer(self, notice: CustomerNotice) -> list[str]:
        """Issue 14, R37: the milestone's message to the ticket's customer, the way their
        record says (`sms`, `email`, `none`; a customer without a record by SMS to the call's
        phone), in their language, if that way may go out now; once per key and recipient.
        Returns the statuses of what went (or was recorded)."""
        record = await asyncio.to_thread(
            catalog.contact, self.engine, notice.customer_id, notice.ticket_id
        )
        email = (record.email if record else None) or notice.email
        way = way_to_tell(record.notify_by if record else NotifyBy.SMS, email)
        if way is NotifyBy.NONE or way.value not in notice.channels:
            return []
        texts = dict(notice.texts)
        if "technician" in texts:
            texts["technician"] = await asyncio.to_thread(
                users.name_of, self.engine, texts["technician"]
            )
        language = Language(record.language) if record else Language.ZH
        if notice.milestone == Milestone.REGISTERED and notice.ticket_id and self.status_link:
            texts["status_link"] = self.status_link(notice.ticket_id)
        rendered = render(
            Milestone(notice.milestone),
            language,
            {**texts, **notice.times, **notice.dates},
            notice.timezone,
        )
        recipient = email if way is NotifyBy.EMAIL else (record.phone if record else notice.phone)
        assert recipient is not None
        message = OutgoingMessage(notice.key, way.value, recipient, rendered.subject, rendered.body)
        if way is NotifyBy.EMAIL and notice.attach:
            message.attachments = await asyncio.to_thread(self._documents, notice, language)
        return [await self._deliver(message)]

    def _documents(self, notice: CustomerNotice, language: Language) -> list[Attachment]:
        """The notice's documents as PDF, from the read model (the step that made them has
        written it: an invoice is issued before its notice goes)."""
        assert notice.ticket_id is not None
        with Session(self.engine) as db:
            papers = documents.papers(db, notice.ticket_id)
        if papers is None:
            raise RuntimeError(f"ticket {notice.ticket_id} is not in the read model yet")
        letterhead = Letterhead(notice.currency, notice.timezone)
        attached = []
        for kind in map(DocumentKind, notice.attach):
            if kind not in papers.available():
                raise RuntimeError(f"ticket {papers.ticket.number} has no {kind} yet")
            pdf = render_pdf(kind, papers, language, letterhead, self.files)
            attached.append(Attachment(f"{papers.ticket.number}-{kind}.pdf", PDF, pdf))
        return attached

    @activity.defn
    async def notify_staff(self, notice: StaffNotice) -> int:
        """Emails the active staff in the notice's roles, once each; returns how many have
        it now."""
        return await self._tell_staff(
            notice.key,
            notice.roles,
            notice.subject,
            notice.body,
            repr(notice.key),
            "emails",
            notice.branch,
        )

    async def _tell_staff(
        self,
        key: str,
        roles: list[str],
        subject: str,
        body: str,
        what: str,
        emails: str,
        branch: str | None = None,
    ) -> int:
        recipients = await asyncio.to_thread(users.staff_emails, self.engine, roles, branch)
        if not recipients:
            log.warning("%s: no active user with role %s has an email", what, " or ".join(roles))
            return 0
        messages = [OutgoingMessage(key, EMAIL, r, subject, body) for r in recipients]
        # All at once, so an attempt takes one SMTP timeout however many people are told, and
        # one failing recipient does not hold back the others.
        results = await asyncio.gather(*map(self._deliver, messages), return_exceptions=True)
        failures: list[BaseException] = []
        for recipient, result in zip(recipients, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("email %r to %s failed: %s", key, recipient, result)
                failures.append(result)
        for failure in failures:
            if not isinstance(failure, Exception) or isinstance(failure, ApplicationError):
                raise failure  # cancelled, or a bug no retry fixes
        if failures:
            raise RuntimeError(
                f"{len(failures)} of {len(recipients)} {emails} not sent yet "
                f"(retried; the others are not sent again): {failures[0]}"
            ) from failures[0]
        return results.count(SENT)
