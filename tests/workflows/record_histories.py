"""Records the ticket workflow histories that test_replay.py replays.

Run before changing TicketWorkflow and keep the files it writes:
`python -m tests.workflows.record_histories v3` (the prefix names the workflow's version).
Old files stay: they are the executions that may still be running in production.
Tickets are called in as the API does now: with the policy's deadlines and survey terms.
"""

import asyncio
import sys
import tempfile
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from api.ticket_commands import service_clock
from models.db import make_engine, migrate
from models.escalation import AcknowledgeRequest
from models.policy import load_policy
from models.ticket import SurveyTerms
from tests.workflows.test_ticket_workflow import RESOLVE_FREE, act, register, ticket_start
from worker import DATA_CONVERTER, build_worker, register_search_attributes
from workflows.ticket import TicketWorkflow

SLEEP, ACKNOWLEDGE_ALL = "(sleep)", "(acknowledge all)"
HISTORIES = {
    # R12, R14-R16: a hold, a promise, every deadline missed, then acknowledged and done.
    # First: the time-skipping server stalls a sleep once no workflow is running at all.
    "escalated_and_acknowledged": [
        ("hold", "c", ["clerk"], {"reason": "customer away"}),
        ("resume", "c", ["clerk"], {}),
        ("promise", "d", ["dispatcher"], {"promised_by": "2099-01-01T00:00:00+00:00"}),
        (SLEEP, "", [], {"days": 2}),
        (ACKNOWLEDGE_ALL, "dir1", ["director"], {}),
        ("dispatch", "d", ["dispatcher"], {"technician": "tech1"}),
        ("arrive", "tech1", ["technician"], {}),
        ("resolve", "tech1", ["technician"], RESOLVE_FREE),
    ],
    "on_site_free_closed": [
        ("dispatch", "d", ["dispatcher"], {"technician": "tech1"}),
        ("dispatch", "d", ["dispatcher"], {"technician": "tech2"}),
        ("arrive", "dir1", ["director"], {}),
        ("resolve", "tech2", ["technician"], RESOLVE_FREE),
    ],
    "paid_in_two_payments": [
        ("dispatch", "d", ["dispatcher"], {"technician": "tech1"}),
        ("arrive", "tech1", ["technician"], {}),
        (
            "resolve",
            "tech1",
            ["technician"],
            {
                **RESOLVE_FREE,
                "labor_minutes": 60,
                "parts": [{"part_no": "P1", "qty": 1, "unit_price": "30.00"}],
            },
        ),
        ("record_payment", "a", ["accountant"], {"amount": "50.00", "method": "cash"}),
        ("record_payment", "a", ["accountant"], {"amount": "100.00", "method": "cash"}),
    ],
    "carry_in_two_rounds": [
        ("dispatch", "d", ["dispatcher"], {"technician": "tech1"}),
        ("arrive", "tech1", ["technician"], {}),
        (
            "carry_in",
            "tech1",
            ["technician"],
            {"customer_signature": "Li", "promised_by": "2030-01-01T00:00:00+00:00"},
        ),
        (
            "record_repair",
            "tech1",
            ["technician"],
            {"labor_minutes": 30, "parts": [], "notes": "a"},
        ),
        ("inspect", "dir1", ["director"], {"passed": False, "notes": "no"}),
        (
            "record_repair",
            "tech1",
            ["technician"],
            {"labor_minutes": 30, "parts": [], "notes": "b"},
        ),
        ("inspect", "dir1", ["director"], {"passed": True, "notes": "ok"}),
        ("return", "tech1", ["technician"], {"customer_signature": "Li"}),
        ("record_payment", "a", ["accountant"], {"amount": "120.00", "method": "cash"}),
    ],
    "cancelled": [("cancel", "c", ["clerk"], {"reason": "customer fixed it"})],
}


async def main():
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(Path(sys.executable).parent / "temporal-test-server"),
        data_converter=DATA_CONVERTER,
    )
    engine = make_engine(f"sqlite:///{tempfile.mkdtemp()}/record.db")
    migrate(engine)
    out = Path(__file__).parent / "histories"
    async with env:
        await register_search_attributes(env.client)
        async with build_worker(env.client, engine, "record"):
            for name, steps in HISTORIES.items():
                now = await env.get_current_time()
                start = replace(
                    ticket_start(),
                    clock=service_clock(load_policy(None), "urban", now),
                    survey=SurveyTerms(),
                )
                await register(env.client, start, "record")
                await register(env.client, start, "record")
                handle = env.client.get_workflow_handle_for(
                    TicketWorkflow.run, f"ticket-{start.ticket_id}"
                )
                for action, actor, roles, data in steps:
                    if action == SLEEP:
                        for _ in range(data["days"]):  # a day at a time: each skip is quick
                            await env.sleep(timedelta(days=1))
                            await asyncio.sleep(0.5)  # the worker takes what the timers set off
                    elif action == ACKNOWLEDGE_ALL:
                        state = await handle.query(TicketWorkflow.state_query)
                        for escalation in state.escalations:
                            request = AcknowledgeRequest(escalation.id, actor, roles)
                            await handle.execute_update(TicketWorkflow.acknowledge, request)
                    else:
                        await handle.execute_update(
                            TicketWorkflow.act, act(action, actor, roles, **data)
                        )
                final = await handle.result()
                print(name, final.status)
                history = await handle.fetch_history()
                (out / f"{sys.argv[1]}-{name}.json").write_text(history.to_json())


if __name__ == "__main__":
    asyncio.run(main())
