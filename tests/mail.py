"""A real SMTP server for tests (aiosmtpd on 127.0.0.1): it keeps what it accepts."""

from __future__ import annotations

from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.ports import free_port


class Mailbox:
    """An aiosmtpd handler keeping every accepted message; refuses the addresses in `refuse`."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"


class SmtpServer:
    """A real SMTP server on 127.0.0.1 that can be stopped and started again on its port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.mailbox = Mailbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def messages(self) -> list[EmailMessage]:
        parser = BytesParser(_class=EmailMessage, policy=default)
        parsed: list[EmailMessage] = []
        for envelope in self.mailbox.envelopes:
            assert isinstance(envelope.content, bytes)
            parsed.append(parser.parsebytes(envelope.content))
        return parsed

    def recipients(self) -> list[str]:
        return sorted(r for e in self.mailbox.envelopes for r in e.rcpt_tos)
