"""What the contract routes ask of a contract's workflow (R31, R32): start it, change it, read
its calendar. The workflow is the truth of what was done; the database row of what was agreed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from api.schemas.catalog import ContractEventPublic
from api.workflow_answers import in_time, refused, unavailable
from models.contract import ContractChange, ContractEvent, ContractTerms, events
from models.policy import Policy
from models.refusals import CONFLICT, Refused
from workflows.contract import (
    ContractStart,
    ContractState,
    ContractWorkflow,
    contract_workflow_id,
)


def since(policy: Policy) -> datetime:
    """From when a newly started contract workflow catches up what fell due."""
    return datetime.now(UTC) - timedelta(days=policy.contracts.catch_up_days)


async def start(client: Client, task_queue: str, terms: ContractTerms, policy: Policy) -> None:
    """Starts the contract's workflow, once: a second start finds the first."""
    await client.start_workflow(
        ContractWorkflow.run,
        ContractStart(terms, since(policy)),
        id=contract_workflow_id(terms.uid),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


async def change(client: Client, terms: ContractTerms, request: ContractChange) -> ContractState:
    handle = client.get_workflow_handle_for(ContractWorkflow.run, contract_workflow_id(terms.uid))
    try:
        return await in_time(handle.execute_update(ContractWorkflow.change, request), "contract")
    except WorkflowUpdateFailedError as failure:
        refused(failure, "contract")
    except RPCError as error:
        if error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise Refused(
                CONFLICT, f"contract {terms.number} has ended: a new contract renews it"
            ) from error
        unavailable(error)


async def calendar(
    client: Client, terms: ContractTerms, running: bool, past: bool
) -> list[ContractEventPublic]:
    """The contract's events, oldest first: those to come, and with `past` those done."""
    if not running:
        return [_upcoming(event) for event in events(terms)]
    handle = client.get_workflow_handle_for(ContractWorkflow.run, contract_workflow_id(terms.uid))
    try:
        state = await handle.query(ContractWorkflow.contract_query)
        upcoming = await handle.query(ContractWorkflow.upcoming_query)
    except RPCError as error:
        unavailable(error)
    found = [_upcoming(event) for event in upcoming]
    if past:
        found += [
            ContractEventPublic(
                key=h.key,
                kind=h.kind,
                on=h.on,
                status="missed" if h.missed else "done",
                at=h.at,
                ticket_id=h.ticket_id,
            )
            for h in state.done
        ]
    return sorted(found, key=lambda event: (event.on, event.kind, event.key))


def _upcoming(event: ContractEvent) -> ContractEventPublic:
    return ContractEventPublic(key=event.key, kind=event.kind, on=event.on, status="upcoming")
