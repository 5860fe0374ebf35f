"""Every branch of the policy gets its long-running reports workflow (R27-R29), once, when a
worker starts: a branch added to the policy starts reporting with the next worker."""

from __future__ import annotations

import logging

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from models.daily_report import BranchReportsStart
from models.policy import Policy
from workflows.branch_reports import BranchReportsWorkflow, branch_reports_workflow_id

log = logging.getLogger("aftersales.reports")


async def start_branches(client: Client, policy: Policy, task_queue: str) -> list[str]:
    """Starts the reports workflow of each branch that has none running; returns the
    branches."""
    for branch in policy.branches:
        await client.start_workflow(
            BranchReportsWorkflow.run,
            BranchReportsStart(branch),
            id=branch_reports_workflow_id(branch),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
    log.info("daily reports kept for the branches %s", ", ".join(policy.branches))
    return policy.branches
