"""Complaints' commands (R25, R26): starting a complaint's workflow and its steps as updates,
with the workflow's refusals translated into HTTP answers."""

from __future__ import annotations

import hashlib
import json
from typing import TypeVar

from fastapi import HTTPException, status
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.workflow_answers import in_time, refused, unavailable
from models.complaint import ComplaintAction, ComplaintCreate, ComplaintState, RegisteredRequest
from models.followup import ComplaintStart
from workflows.complaint import ComplaintWorkflow

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
        unavailable(error)
    raise HTTPException(
        status.HTTP_409_CONFLICT,
        f"ticket '{start.ticket_id}' has {MAX_COMPLAINTS_PER_TICKET} complaints already",
    )


async def _registered(client: Client, wid: str) -> ComplaintState:
    handle = client.get_workflow_handle_for(ComplaintWorkflow.run, wid)
    try:
        return await in_time(
            handle.execute_update(ComplaintWorkflow.registered, RegisteredRequest()), "complaint"
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
        return await in_time(handle.execute_update(ComplaintWorkflow.act, request), "complaint")
    except WorkflowUpdateFailedError as failure:
        refused(failure, "complaint")
    except RPCError as error:
        if error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise ComplaintGone(wid) from error
        unavailable(error)
