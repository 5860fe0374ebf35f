"""How workflows refuse a request (an update's validator or handler), in error types the API
translates to HTTP answers: the same names for tickets, complaints and surveys."""

from __future__ import annotations

from typing import Any

from temporalio.exceptions import ApplicationError

INVALID_TRANSITION = "InvalidTransition"  # 409, with the allowed actions
FORBIDDEN = "Forbidden"  # 403
INVALID_PAYLOAD = "InvalidPayload"  # 422, with the errors
IDEMPOTENCY_KEY_REUSED = "IdempotencyKeyReused"  # 422
# An activity's write the database refused as invalid data: retrying cannot help, and a retry
# loop would hold the workflow's lock (every later step would time out).
INVALID_DATA = "InvalidData"


def refuse(message: str, error_type: str, **details: Any) -> ApplicationError:
    """A refusal: never retried, and when raised by a validator, no trace in history."""
    return ApplicationError(message, details, type=error_type, non_retryable=True)
