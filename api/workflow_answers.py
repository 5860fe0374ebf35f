"""Workflows' refusals and silences as the refusals of models/refusals.py, the same for every
kind of workflow; api/errors.py answers each with its HTTP status."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, NoReturn, TypeVar

from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from sqlmodel import Session
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import Services
from models.refusals import CONFLICT, NOT_FOUND, TIMED_OUT, UNAVAILABLE, Refused

# How long a request waits for a worker to take its step before answering 504.
STEP_TIMEOUT_SECONDS = 30
UPDATE_RPC_TIMEOUT = timedelta(seconds=STEP_TIMEOUT_SECONDS)
T = TypeVar("T")


def field_errors(invalid: ValidationError, where: str = "body") -> list[dict[str, Any]]:
    """Each problem as `{loc, msg, type}`: the field (in `where`) and the rule, never the
    value sent."""
    return [
        {"loc": [where, *error["loc"]], "msg": error["msg"], "type": error["type"]}
        for error in invalid.errors(include_url=False, include_context=False, include_input=False)
    ]


def refused(failure: WorkflowUpdateFailedError, what: str) -> NoReturn:
    """The workflow's refusal, raised as it refused (the fields it names located in the body);
    an update that failed otherwise (an activity that failed for good) is unavailable."""
    cause = failure.cause
    if not isinstance(cause, ApplicationError) or not cause.type:
        raise Refused(UNAVAILABLE, f"the {what} could not be updated")
    details: dict[str, Any] = dict(cause.details[0]) if cause.details else {}
    if "errors" in details:
        details["errors"] = [
            {**error, "loc": ["body", *error.get("loc", [])]} for error in details["errors"]
        ]
    raise Refused(cause.type, cause.message, **details)


def unavailable(error: RPCError) -> NoReturn:
    raise Refused(UNAVAILABLE, f"the workflow service is unavailable: {error.message}") from error


async def in_time(step: Awaitable[T], what: str) -> T:
    """The step's answer, or a TIMED_OUT refusal if no worker took it in time (it may still
    be applied: retried with the same Idempotency-Key, it is taken once)."""
    try:
        return await asyncio.wait_for(step, STEP_TIMEOUT_SECONDS)
    except TimeoutError:
        raise Refused(
            TIMED_OUT, f"no worker took the step in time; it may still be applied: check the {what}"
        ) from None


async def update_of(
    app: Services,
    row_of: Callable[[Session, str], Any],
    kind: str,
    item_id: str,
    update: str,
    request: Any,
    result_type: type[T],
) -> T:
    """The answer to `update` of the workflow that owns the `kind` (an approval, an escalation)
    `item_id`, whose row `row_of` reads (NOT_FOUND without one): its refusal as it refused,
    CONFLICT if the workflow has ended, UNAVAILABLE or TIMED_OUT if no answer came."""

    def find() -> str | None:
        with app.session() as db:
            row = row_of(db, item_id)
            return str(row.workflow_id) if row is not None else None

    workflow_id = await run_in_threadpool(find)
    if workflow_id is None:
        raise Refused(NOT_FOUND, f"no {kind} '{item_id}'")
    handle = app.temporal.get_workflow_handle(workflow_id)
    try:
        answer = handle.execute_update(
            update, request, result_type=result_type, rpc_timeout=UPDATE_RPC_TIMEOUT
        )
        return await in_time(answer, kind)
    except WorkflowUpdateFailedError as failure:
        refused(failure, kind)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise Refused(
                CONFLICT, f"{kind} '{item_id}' belongs to a workflow that has ended"
            ) from error
        unavailable(error)
