"""Logging for every process: one line per record, with customers' contact details and the
secret survey links masked before anything is written (docs/security.md). A line is text, or
with AFTERSALES_LOG_FORMAT=json one JSON object carrying the id of the ticket it is about
(docs/operations.md)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
EMAIL = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")
# Phone numbers as people write them: 7 or more digits with spaces, dashes or brackets between;
# a date (2026-12-02), a time, an amount or an address:port is no match.
PHONE = re.compile(r"(?<![\w.:/-])\+?\d[\d ()-]{5,}\d(?!\w|[.:/]\w)")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
CUSTOMER_LINK = re.compile(r"(/(?:surveys|status)/)[^\s/?#\"']+")
"""The customers' secret links: a survey card's, a ticket's status link."""
LogFormat = Literal["text", "json"]
TICKET_ID: ContextVar[str | None] = ContextVar("ticket_id", default=None)
"""The ticket the current request or activity works on: set by the API from a route's
`ticket_id` and by the worker from an activity's input, read by every log line."""


def _mask_phone(found: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", found.group(0))
    if len(digits) < 7 or DATE.match(found.group(0)):
        return found.group(0)
    return "*" * (len(digits) - 4) + digits[-4:]


def mask(text: str) -> str:
    """`text` with emails (`***@domain`), phone numbers (all but the last four digits) and
    customers' link tokens (surveys, status) masked."""
    text = CUSTOMER_LINK.sub(r"\1***", text)
    text = EMAIL.sub(r"***@\1", text)
    return PHONE.sub(_mask_phone, text)


class Masking(logging.Filter):
    """Rewrites each record's message with `mask`, whoever logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = mask(record.getMessage()), ()
        return True


@contextmanager
def about_ticket(ticket_id: str | None) -> Iterator[None]:
    """Within the block, log lines carry `ticket_id` (nothing changes for None)."""
    token = TICKET_ID.set(ticket_id) if ticket_id is not None else None
    try:
        yield
    finally:
        if token is not None:
            TICKET_ID.reset(token)


class TicketContext(logging.Filter):
    """Puts the current ticket's id (TICKET_ID) on each record, unless it has one already."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "ticket_id", None) is None:
            record.ticket_id = TICKET_ID.get()
        return True


class JsonLines(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message, and `ticket_id` and
    `exception` when there is one; a traceback is masked like the message."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if (ticket_id := getattr(record, "ticket_id", None)) is not None:
            line["ticket_id"] = ticket_id
        if record.exc_info:
            line["exception"] = mask(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


def formatter(log_format: LogFormat) -> logging.Formatter:
    return JsonLines() if log_format == "json" else logging.Formatter(FORMAT)


def log_handler(log_format: LogFormat = "text", stream: TextIO | None = None) -> logging.Handler:
    """A handler writing masked lines in `log_format` to `stream` (stderr by default)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(log_format))
    handler.addFilter(Masking())
    handler.addFilter(TicketContext())
    return handler


def configure_logging(level: int = logging.INFO, log_format: LogFormat = "text") -> None:
    """The root logger writes masked lines in `log_format` to stderr."""
    logging.basicConfig(level=level, handlers=[log_handler(log_format)], force=True)
    logging.getLogger("transitions").setLevel(logging.WARNING)  # one line per state change


def uvicorn_log_config(log_format: LogFormat = "text") -> dict[str, Any]:
    """Uvicorn's loggers (its access log included) through the same masking and format."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"stderr": {"()": log_handler, "log_format": log_format}},
        "loggers": {
            name: {"handlers": ["stderr"], "level": "INFO", "propagate": False}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
