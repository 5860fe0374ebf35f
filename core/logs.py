"""Logging for every process: one line per record, with customers' contact details and the
secret survey links masked before anything is written (docs/security.md)."""

from __future__ import annotations

import logging
import re
from typing import Any

FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
EMAIL = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")
# Phone numbers as people write them: 7 or more digits with spaces, dashes or brackets between;
# a date (2026-12-02), a time, an amount or an address:port is no match.
PHONE = re.compile(r"(?<![\w.:/-])\+?\d[\d ()-]{5,}\d(?!\w|[.:/]\w)")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
CUSTOMER_LINK = re.compile(r"(/(?:surveys|status)/)[^\s/?#\"']+")
"""The customers' secret links: a survey card's, a ticket's status link."""


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


def configure_logging(level: int = logging.INFO) -> None:
    """The root logger writes masked lines to stderr."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(Masking())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("transitions").setLevel(logging.WARNING)  # one line per state change


def uvicorn_log_config() -> dict[str, Any]:
    """Uvicorn's loggers (its access log included) through the same masking."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"masking": {"()": Masking}},
        "formatters": {"line": {"format": FORMAT}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "line",
                "filters": ["masking"],
            }
        },
        "loggers": {
            name: {"handlers": ["stderr"], "level": "INFO", "propagate": False}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
