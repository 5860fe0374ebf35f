"""How activities fail for good: a write the database refuses as invalid data is not retried.

Local activities are retried until they succeed, inside the workflow task that holds the
ticket's lock: one write that can never succeed would wedge the ticket, every later step
answering 504. Validation keeps such data out; this is the last line behind it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DataError
from temporalio.exceptions import ApplicationError

from models.refusals import INVALID_DATA

log = logging.getLogger("aftersales.activities")


@contextmanager
def invalid_data_is_final(what: str) -> Iterator[None]:
    """Turns the database's DataError into a non-retryable failure naming `what`."""
    try:
        yield
    except DataError as invalid:
        log.error("%s: the database refused the data: %s", what, invalid.orig)
        raise ApplicationError(
            f"{what}: the database refused the data", type=INVALID_DATA, non_retryable=True
        ) from None
