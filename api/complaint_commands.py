"""Complaints' commands (R25, R26): starting a complaint's workflow and its steps as updates.
Refusals are raised as `Refused` (models/refusals.py)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import TypeVar

from sqlmodel import Session
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.schemas.complaints import ComplaintCreate
from api.workflow_answers import in_time, refused, unavailable
from models.complaint import ComplaintAction, ComplaintState, RegisteredRequest
from models.followup import ComplaintStart
from models.policy import Policy, notify_terms
from models.refusals import CONFLICT, IDEMPOTENCY_KEY_REUSED, Refused, field_refused
from models.ticket import Customer, Product
from store import complaints, tickets
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
        raise Refused(
            IDEMPOTENCY_KEY_REUSED,
            "this Idempotency-Key was already used for a different complaint",
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
    raise Refused(
        CONFLICT, f"ticket '{start.ticket_id}' has {MAX_COMPLAINTS_PER_TICKET} complaints already"
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


def complaint_start(
    db: Session, request: ComplaintCreate, recorder: str, policy: Policy
) -> tuple[ComplaintStart, list[str]]:
    """The complaint as received, from its ticket (R26); and the workflows of the ticket's
    earlier complaints. INVALID_PAYLOAD for an unknown ticket."""
    ticket = tickets.visible(db, request.ticket_id)
    if ticket is None:
        raise field_refused("ticket_id", f"no ticket '{request.ticket_id}'")
    start = ComplaintStart(
        ticket_id=ticket.id,
        ticket_number=ticket.number,
        customer=Customer(ticket.customer_name, ticket.customer_phone, ticket.customer_address),
        product=Product(ticket.product_model, ticket.product_serial_no),
        technician=ticket.technician,
        text=request.text,
        received_at=datetime.now(UTC),
        received_via=request.received_via,
        recorded_by=recorder,
        repeat_window_days=policy.complaints.repeat_window_days,
        notify=notify_terms(policy),
    )
    return start, complaints.workflows_of_ticket(db, ticket.id)
