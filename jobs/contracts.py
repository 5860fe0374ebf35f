"""Contracts from before their workflows existed (or saved while Temporal was down) get theirs,
once each, when a worker starts (R31, R32)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from models.policy import Policy
from models.refusals import Refused
from store import contracts
from workflows.contract import ContractStart, ContractWorkflow, contract_workflow_id

log = logging.getLogger("aftersales.contracts")


async def start_missing(client: Client, engine: Engine, policy: Policy, task_queue: str) -> int:
    """Starts the workflow of every contract without one; returns how many were started. A
    workflow already there is found, not started twice; what fell due more than the policy's
    catch-up days ago is recorded as missed."""
    since = datetime.now(UTC) - timedelta(days=policy.contracts.catch_up_days)
    started = 0
    with Session(engine) as db:
        for row in contracts.without_workflow(db):
            try:
                terms = contracts.contract_terms(db, policy, row)
                await client.start_workflow(
                    ContractWorkflow.run,
                    ContractStart(terms, since),
                    id=contract_workflow_id(terms.uid),
                    task_queue=task_queue,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                )
            except (Refused, RPCError) as failed:
                log.error("contract %s: its workflow was not started: %s", row.number, failed)
                continue
            contracts.mark_started(db, row)
            started += 1
    if started:
        log.info("started the workflows of %d contracts", started)
    return started
