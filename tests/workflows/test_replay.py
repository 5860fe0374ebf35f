"""Recorded histories still replay: a change to a workflow that would break running tickets,
survey cards, complaints, contracts or daily reports fails here (it then needs
`workflow.patched` or a new workflow type). Files are `<version>-<scenario>.json`, recorded
by `scripts/record_histories.py`."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from worker import DATA_CONVERTER, sandbox_runner
from workflows.branch_reports import BranchReportsWorkflow
from workflows.complaint import ComplaintWorkflow
from workflows.contract import ContractWorkflow
from workflows.customer_notices import CustomerMessageWorkflow
from workflows.daily_report import DailyReportWorkflow
from workflows.survey import SurveyWorkflow
from workflows.ticket import TicketWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))
HISTORY_TEXT = {path: path.read_text() for path in HISTORIES}


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(path: Path) -> None:
    replayer = Replayer(
        workflows=[
            TicketWorkflow,
            SurveyWorkflow,
            ComplaintWorkflow,
            ContractWorkflow,
            BranchReportsWorkflow,
            DailyReportWorkflow,
            CustomerMessageWorkflow,
        ],
        data_converter=DATA_CONVERTER,
        workflow_runner=sandbox_runner(),
    )
    history = WorkflowHistory.from_json(path.stem, HISTORY_TEXT[path])
    await replayer.replay_workflow(history)


def test_histories_are_recorded() -> None:
    assert len(HISTORIES) >= 3
