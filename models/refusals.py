"""Every refusal the product gives, by name: workflows raise them from update validators and
handlers (as non-retryable ApplicationErrors), commands and the store as `Refused`; the API
answers each with the HTTP status of one table (api/errors.py), whoever refused.

A refusal changes nothing: a validator's leaves no trace in history, a command's is raised
before any write.
"""

from __future__ import annotations

from typing import Any

from temporalio.exceptions import ApplicationError

# The status does not allow the step (409, with the allowed actions).
INVALID_TRANSITION = "InvalidTransition"
FORBIDDEN = "Forbidden"  # the user's roles do not allow it (403)
INVALID_PAYLOAD = "InvalidPayload"  # a field breaks a rule (422, with the errors)
IDEMPOTENCY_KEY_REUSED = "IdempotencyKeyReused"  # the key named another request (422)
NOT_FOUND = "NotFound"  # no such record (404)
CONFLICT = "Conflict"  # a number or name that is taken, a state that forbids it (409)
SURVEY_CLOSED = "SurveyClosed"  # the card is answered already (409)
SURVEY_EXPIRED = "SurveyExpired"  # the card's link has expired (404)
SURVEY_NOT_OPEN = "SurveyNotOpen"  # the card has not been sent yet (404)
LINK_EXPIRED = "LinkExpired"  # a customer's status link, past its days after closing (410)
INVALID_ANSWER = "InvalidAnswer"  # a rating out of 1-4, a text too long (422)
UNKNOWN_ESCALATION = "UnknownEscalation"  # no such escalation on that workflow (404)
NOT_AN_OWNER = "NotAnOwner"  # the escalation is not this user's to acknowledge (403)
TOO_LARGE = "TooLarge"  # an upload beyond its limit, which the message names (413)
UNSUPPORTED_TYPE = "UnsupportedType"  # a file of a type not taken, named in the message (415)
UNAVAILABLE = "Unavailable"  # Temporal, the database or the file store does not answer (503)
TIMED_OUT = "TimedOut"  # no worker took the step in time; it may still be applied (504)
# An activity's write the database refused as invalid data: retrying cannot help, and a retry
# loop would hold the workflow's lock (every later step would time out).
INVALID_DATA = "InvalidData"


def refuse(message: str, error_type: str, **details: Any) -> ApplicationError:
    """A workflow's refusal: never retried, and when raised by a validator, no trace in
    history."""
    return ApplicationError(message, details, type=error_type, non_retryable=True)


class Refused(Exception):
    """A refusal outside a workflow (a command, the store), or a workflow's as the API caught
    it: one of the types above, a sentence saying why, and details (`errors`: the fields at
    fault; `allowed_actions`: what the status allows)."""

    def __init__(self, error_type: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.type, self.message, self.details = error_type, message, details


def field_refused(
    field: str, message: str, error_type: str = INVALID_PAYLOAD, loc: str = "body"
) -> Refused:
    """A refusal of one field of the body (or of the `query`)."""
    return Refused(
        error_type,
        message,
        errors=[{"loc": [loc, field], "msg": message, "type": "value_error"}],
    )
