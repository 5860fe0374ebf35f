"""Workflows' refusals and silences as HTTP answers, the same for every kind of workflow."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, NoReturn, TypeVar

from fastapi import HTTPException, status
from pydantic import ValidationError
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from models.refusals import FORBIDDEN, IDEMPOTENCY_KEY_REUSED, INVALID_PAYLOAD, INVALID_TRANSITION

# How long a request waits for a worker to take its step before answering 504.
STEP_TIMEOUT_SECONDS = 30
T = TypeVar("T")


def field_errors(invalid: ValidationError, where: str = "body") -> list[dict[str, Any]]:
    """Each problem as `{loc, msg, type}`: the field (in `where`) and the rule, never the
    value sent."""
    return [
        {"loc": [where, *error["loc"]], "msg": error["msg"], "type": error["type"]}
        for error in invalid.errors(include_url=False, include_context=False, include_input=False)
    ]


def refused(failure: WorkflowUpdateFailedError, what: str) -> NoReturn:
    """409 with the allowed actions, 403, or 422 naming the fields, as the workflow said."""
    cause = failure.cause
    if not isinstance(cause, ApplicationError):
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"the {what} could not be updated")
    details: dict[str, Any] = cause.details[0] if cause.details else {}
    if cause.type == INVALID_TRANSITION:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            {"detail": cause.message, "allowed_actions": details.get("allowed_actions", [])},
        )
    if cause.type == FORBIDDEN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, cause.message)
    if cause.type in (INVALID_PAYLOAD, IDEMPOTENCY_KEY_REUSED):
        if "errors" in details:  # the body's fields, located as the API's own errors are
            details["errors"] = [
                {**error, "loc": ["body", *error.get("loc", [])]} for error in details["errors"]
            ]
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, {"detail": cause.message, **details}
        )
    raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, cause.message)


def unavailable(error: RPCError) -> NoReturn:
    raise HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE, f"the workflow service is unavailable: {error.message}"
    ) from error


async def in_time(step: Awaitable[T], what: str) -> T:
    """The step's answer, or 504 if no worker took it in time (it may still be applied)."""
    try:
        return await asyncio.wait_for(step, STEP_TIMEOUT_SECONDS)
    except TimeoutError:
        raise HTTPException(
            status.HTTP_504_GATEWAY_TIMEOUT,
            f"no worker took the step in time; it may still be applied: check the {what}",
        ) from None
