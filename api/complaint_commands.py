"""Complaints' commands (R25, R26): starting a complaint's workflow and its steps as updates,
with the workflow's refusals translated into HTTP answers."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable
from typing import Any, NoReturn, TypeVar

from fastapi import HTTPException, status
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from models.complaint import ComplaintAction, ComplaintCreate, ComplaintState, RegisteredRequest
from models.followup import ComplaintStart
from workflows import complaint as complaint_workflow
from workflows.complaint import ComplaintWorkflow

# How long a request waits for a worker to take its step before answering 504.
STEP_TIMEOUT_SECONDS = 30
# Complaints on one ticket are few; this bounds the search for a free workflow id.
MAX_COMPLAINTS_PER_TICKET = 100
KEY_MEMO, FINGERPRINT_MEMO = "idempotency_key", "fingerprint"
T = TypeVar("T")


class ComplaintGone(Exception):
    """The complaint's workflow has ended (closed) or never existed."""


def workflow_id(ticket_id: str, n: int) -> str:
    """The n-th complaint about a ticket (the survey's complaint, if any, is one of them)."""
    return f"complaint-{ticket_id}-{n}"


def fingerprint(request: ComplaintCreate) -> str:
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _refused(failure: WorkflowUpdateFailedError) -> NoReturn:
    cause = failure.cause
    if not isinstance(cause, ApplicationError):
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "the complaint could not be updated"
        )
    details: dict[str, Any] = cause.details[0] if cause.details else {}
    match cause.type:
        case complaint_workflow.INVALID_TRANSITION:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                {"detail": cause.message, "allowed_actions": details.get("allowed_actions", [])},
            )
        case complaint_workflow.FORBIDDEN:
            raise HTTPException(status.HTTP_403_FORBIDDEN, cause.message)
        case complaint_workflow.INVALID_PAYLOAD:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, {"detail": cause.message, **details}
            )
    raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, cause.message)


def _unavailable(error: RPCError) -> NoReturn:
    raise HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE, f"the workflow service is unavailable: {error.message}"
    ) from error


async def _in_time(step: Awaitable[T]) -> T:
    try:
        return await asyncio.wait_for(step, STEP_TIMEOUT_SECONDS)
    except TimeoutError:
        raise HTTPException(
            status.HTTP_504_GATEWAY_TIMEOUT,
            "no worker took the step in time; it may still be applied: check the complaint",
        ) from None


async def _keyed(client: Client, wid: str) -> tuple[str | None, str | None]:
    """The Idempotency-Key and request fingerprint a complaint's workflow was started with."""
    try:
        described = await client.get_workflow_handle(wid).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:  # past the namespace's retention
            return None, None
        raise
    key = await described.memo_value(KEY_MEMO, None)
    started_for = await described.memo_value(FINGERPRINT_MEMO, None)
    return key, started_for


def _same_key(key: str, request_print: str, found: tuple[str | None, str | None]) -> bool:
    found_key, found_print = found
    if found_key != key:
        return False
    if found_print != request_print:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            {"detail": "this Idempotency-Key was already used for a different complaint"},
        )
    return True


async def record(
    client: Client,
    task_queue: str,
    start: ComplaintStart,
    request: ComplaintCreate,
    existing: list[str],
    idempotency_key: str | None,
) -> ComplaintState:
    """R26: start the complaint's workflow as the ticket's next complaint and wait for its
    number; the same Idempotency-Key on the same ticket answers with the same complaint.
    `existing` holds the workflow ids of the ticket's complaints in the read model."""
    request_print = fingerprint(request)
    try:
        if idempotency_key is not None:
            for wid in existing:
                if _same_key(idempotency_key, request_print, await _keyed(client, wid)):
                    return await _registered(client, wid)
        memo = (
            {KEY_MEMO: idempotency_key, FINGERPRINT_MEMO: request_print}
            if idempotency_key is not None
            else None
        )
        # A complaint still registering (or the survey's) may hold the next id: take the next.
        for n in range(len(existing) + 1, MAX_COMPLAINTS_PER_TICKET + 1):
            wid = workflow_id(start.ticket_id, n)
            try:
                await client.start_workflow(
                    ComplaintWorkflow.run,
                    start,
                    id=wid,
                    task_queue=task_queue,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    memo=memo,
                )
            except WorkflowAlreadyStartedError:
                if idempotency_key is not None and _same_key(
                    idempotency_key, request_print, await _keyed(client, wid)
                ):
                    return await _registered(client, wid)
                continue
            return await _registered(client, wid)
    except RPCError as error:
        _unavailable(error)
    raise HTTPException(
        status.HTTP_409_CONFLICT,
        f"ticket '{start.ticket_id}' has {MAX_COMPLAINTS_PER_TICKET} complaints already",
    )


async def _registered(client: Client, wid: str) -> ComplaintState:
    handle = client.get_workflow_handle_for(ComplaintWorkflow.run, wid)
    try:
        return await _in_time(
            handle.execute_update(ComplaintWorkflow.registered, RegisteredRequest())
        )
    except RPCError as error:
        if error.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise
    # Closed already (a retried key after the complaint's whole life): it is still that one.
    return await handle.query(ComplaintWorkflow.state_query)


async def act(client: Client, wid: str, request: ComplaintAction) -> ComplaintState:
    """One step as the `act` update; raises ComplaintGone when the workflow has ended."""
    handle = client.get_workflow_handle_for(ComplaintWorkflow.run, wid)
    try:
        return await _in_time(handle.execute_update(ComplaintWorkflow.act, request))
    except WorkflowUpdateFailedError as failure:
        _refused(failure)
    except RPCError as error:
        if error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise ComplaintGone(wid) from error
        _unavailable(error)
