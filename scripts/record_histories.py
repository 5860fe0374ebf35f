"""Records the workflow histories that test_replay.py replays: tickets, and the survey card and
complaint one of them leads to.

Run before changing a workflow and keep the files it writes:
`python -m scripts.record_histories v5` (the prefix names the workflows' version);
`python -m scripts.record_histories v6 contract` records a contract's life only,
`python -m scripts.record_histories v7 reports` a branch's week of daily reports only.
Old files stay: they are the executions that may still be running in production.
Tickets are called in as the API does now: with the policy's deadlines, survey terms,
approval terms (R17-R20), branch and customer notices, against a store holding the parts P1
and P2.
"""

import asyncio
import sys
import tempfile
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from core.db import make_engine, migrate
from jobs.reports import start_branches
from models.approvals import DECIDE_UPDATE, DecisionRequest
from models.complaint import ComplaintAction
from models.contract import ContractChange
from models.daily_report import ReportStep
from models.escalation import AcknowledgeRequest
from models.policy import approval_terms, load_policy, notify_terms, service_clock
from models.survey import SurveyAnswer
from models.tables import (
    ContractRecord,
    CustomerRecord,
    DailyReportRecord,
    PartRecord,
    ProductRecord,
)
from models.ticket import SurveyTerms
from store.contracts import contract_terms
from tests.workflows.builders import RESOLVE_FREE, act, register, ticket_start
from worker import DATA_CONVERTER, build_worker, register_search_attributes
from workflows.branch_reports import BranchReportsWorkflow, branch_reports_workflow_id
from workflows.complaint import ComplaintWorkflow
from workflows.contract import ContractStart, ContractWorkflow, contract_workflow_id
from workflows.daily_report import DailyReportWorkflow
from workflows.survey import SurveyWorkflow, survey_workflow_id
from workflows.ticket import TicketWorkflow

TEST_SERVER = str(Path(sys.executable).parent / "temporal-test-server")
HISTORY_DIR = Path(__file__).resolve().parent.parent / "tests" / "workflows" / "histories"
SLEEP, ACKNOWLEDGE_ALL = "(sleep)", "(acknowledge all)"
APPROVE_ALL, PAY_IN_FULL = "(approve every pending approval)", "(pay what is due)"
# part_no: (unit cost, list price)
STORE = {"P1": ("10.00", "30.00"), "P2": ("250.00", "300.00")}
INTERNAL = "internal_job_with_deadlines"
SURVEYED = "on_site_free_closed"  # its survey card is answered with a complaint
PART_1 = {"part_no": "P1", "qty": 1}
HISTORIES = {
    # R1: an internal job, called in while internal jobs still had the zone's arrival clock.
    INTERNAL: [
        (SLEEP, "", [], {"days": 2}),
        (ACKNOWLEDGE_ALL, "dir1", ["director"], {}),
        ("dispatch", "d", ["dispatcher"], {"technician": "tech1"}),
        ("arrive", "tech1", ["technician"], {}),
        ("resolve", "tech1", ["technician"], RESOLVE_FREE),
    ],
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
        ("quote", "tech1", ["technician"], {"labor_minutes": 60}),
        ("accept_quote", "c", ["clerk"], {"customer_signature": "Li"}),
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
    # R17, R19: a quoted carry-in, a part beyond the quotation signed off, a discount beyond
    # the advisor's limit approved.
    "work_order_approved": [
        ("dispatch", "d", ["dispatcher"], {"technician": "tech1"}),
        ("arrive", "tech1", ["technician"], {}),
        (
            "carry_in",
            "tech1",
            ["technician"],
            {"customer_signature": "Li", "promised_by": "2030-01-01T00:00:00+00:00"},
        ),
        ("quote", "tech1", ["technician"], {"labor_minutes": 60, "parts": [PART_1]}),
        ("accept_quote", "c", ["clerk"], {"customer_signature": "Li"}),
        ("issue_parts", "tech1", ["technician"], {"parts": [PART_1]}),
        ("issue_parts", "tech1", ["technician"], {"parts": [PART_1, PART_1]}),
        ("discount", "clerk1", ["clerk"], {"percent": "15", "reason": "second visit"}),
        (APPROVE_ALL, "dir1", ["director", "manager"], {}),
        (
            "record_repair",
            "tech1",
            ["technician"],
            {"labor_minutes": 60, "parts": [{"part_no": "P1", "qty": 2}], "notes": "a"},
        ),
        ("inspect", "dir1", ["director"], {"passed": True, "notes": "ok"}),
        ("return_parts", "s", ["storekeeper"], {"parts": [PART_1]}),
        ("return", "tech1", ["technician"], {"customer_signature": "Li"}),
        (PAY_IN_FULL, "a", ["accountant"], {}),
    ],
    # R18: below the minimum margin, invoiced once the director approves.
    "low_margin_approved": [
        ("dispatch", "d", ["dispatcher"], {"technician": "tech1"}),
        ("arrive", "tech1", ["technician"], {}),
        ("issue_parts", "tech1", ["technician"], {"parts": [{"part_no": "P2", "qty": 1}]}),
        (
            "resolve",
            "tech1",
            ["technician"],
            {
                **RESOLVE_FREE,
                "labor_minutes": 60,
                "parts": [{"part_no": "P2", "qty": 1}],
                "margin_justification": "price rose",
            },
        ),
        (APPROVE_ALL, "dir1", ["director"], {}),
        (PAY_IN_FULL, "a", ["accountant"], {}),
    ],
}


COMPLAINT_STEPS = [
    ("triage", "dir1", ["director"], {"severity": "general"}),
    ("reply", "dir1", ["director"], {"method": "letter", "text": "we are sorry"}),
    (
        "visit",
        "dir1",
        ["director"],
        {"visited_by": "dir1", "visited_at": "2000-01-01T00:00:00+00:00", "outcome": "ok"},
    ),
    ("close", "dir1", ["director"], {}),
]


async def sleep_days(env: WorkflowEnvironment, days: int) -> None:
    for _ in range(days):  # a day at a time: each skip is quick
        await env.sleep(timedelta(days=1))
        await asyncio.sleep(0.5)  # the worker takes what the timers set off


async def record_survey_and_complaint(env: WorkflowEnvironment, ticket_id: str, out: Path) -> None:
    """R22-R26: the resolved ticket's card goes out, is answered with a complaint, and the
    complaint is triaged, replied to, visited and closed."""
    survey = env.client.get_workflow_handle_for(SurveyWorkflow.run, survey_workflow_id(ticket_id))
    await sleep_days(env, 2)
    answer = SurveyAnswer(4, 3, 2, 1, comment="slow", complaint="the technician was late")
    answered = await survey.execute_update(SurveyWorkflow.answer, answer)
    assert answered.complaint_workflow_id is not None
    complaint = env.client.get_workflow_handle_for(
        ComplaintWorkflow.run, answered.complaint_workflow_id
    )
    for action, actor, roles, data in COMPLAINT_STEPS:
        if action == "visit":
            data = {**data, "visited_at": (await env.get_current_time()).isoformat()}
        await complaint.execute_update(
            ComplaintWorkflow.act, ComplaintAction(action, actor, roles, data)
        )
    await complaint.result()
    await survey.result()
    for kind, handle in (("survey", survey), ("complaint", complaint)):
        history = await handle.fetch_history()
        (out / f"{sys.argv[1]}-{kind}-answered_with_complaint.json").write_text(history.to_json())


def stock(engine) -> None:
    with Session(engine) as db:
        for part_no, (cost, price) in STORE.items():
            db.add(
                PartRecord(
                    part_no=part_no,
                    name=part_no,
                    unit_cost=Decimal(cost),
                    list_price=Decimal(price),
                    stock_on_hand=100,
                )
            )
        db.commit()


async def take(handle, action: str, actor: str, roles: list[str], data: dict) -> None:
    """One step of a recorded ticket: a person's action, or one of the pseudo-steps."""
    state = await handle.query(TicketWorkflow.state_query)
    if action == ACKNOWLEDGE_ALL:
        for escalation in state.escalations:
            request = AcknowledgeRequest(escalation.id, actor, roles)
            await handle.execute_update(TicketWorkflow.acknowledge, request)
    elif action == APPROVE_ALL:
        for approval in state.work_order.pending():
            decision = DecisionRequest(approval.id, actor, roles, True, "ok")
            await handle.execute_update(DECIDE_UPDATE, decision)
    elif action == PAY_IN_FULL:
        due = {"amount": str(state.amount_due - state.amount_paid), "method": "cash"}
        await handle.execute_update(TicketWorkflow.act, act("record_payment", actor, roles, **due))
    else:
        await handle.execute_update(TicketWorkflow.act, act(action, actor, roles, **data))


async def record_contract(env: WorkflowEnvironment, engine, policy, out: Path) -> None:
    """R31, R32: a contract's four months: inspections and their jobs and notices, a
    follow-up, a renewal, then a termination."""
    with Session(engine) as db:
        customer = CustomerRecord(name="Plant", phone="02100000000", address="9 Harbour Road")
        db.add(customer)
        db.flush()
        product = ProductRecord(serial_no="SN-C", model="FA-900", customer_id=customer.id)
        db.add(product)
        db.flush()
        now = (await env.get_current_time()).date()
        row = ContractRecord(
            number="MC-REC-1",
            customer_id=customer.id,
            product_id=product.id,
            starts_on=now,
            ends_on=now + timedelta(days=120),
        )
        db.add(row)
        db.commit()
        terms = contract_terms(db, policy, row)
    handle = await env.client.start_workflow(
        ContractWorkflow.run,
        ContractStart(terms),
        id=contract_workflow_id(terms.uid),
        task_queue="record",
    )
    await sleep_days(env, 40)
    renewal = ContractChange("renew", "clerk1", ends_on=terms.ends_on + timedelta(days=60))
    await handle.execute_update(ContractWorkflow.change, renewal)
    await sleep_days(env, 60)
    ending = ContractChange("terminate", "dir1", terminated_on=now + timedelta(days=110))
    await handle.execute_update(ContractWorkflow.change, ending)
    await sleep_days(env, 20)
    state = await handle.result()
    print("contract", len(state.done), "events")
    history = await handle.fetch_history()
    (out / f"{sys.argv[1]}-contract-renewed_and_terminated.json").write_text(history.to_json())


async def record_reports(env: WorkflowEnvironment, engine, policy, out: Path) -> None:
    """R27-R29: a branch's daily reports for a week, one of them with a ticket's work,
    confirmed, reviewed, signed and forwarded."""
    await start_branches(env.client, policy, "record")
    now = await env.get_current_time()
    start = replace(ticket_start(), clock=service_clock(policy, "urban", now), branch="city")
    await register(env.client, start, "record")
    ticket = env.client.get_workflow_handle_for(TicketWorkflow.run, f"ticket-{start.ticket_id}")
    for action, actor, roles, data in (
        ("dispatch", "d", ["dispatcher"], {"technician": "tech1"}),
        ("arrive", "tech1", ["technician"], {}),
        ("resolve", "tech1", ["technician"], RESOLVE_FREE),
    ):
        await take(ticket, action, actor, roles, data)
    row = None
    for _ in range(7):
        await sleep_days(env, 1)
        with Session(engine) as db:
            found = db.exec(
                select(DailyReportRecord).where(
                    col(DailyReportRecord.status) == "awaiting_confirmation"
                )
            ).first()
        if found is not None:
            row = found
            break
    assert row is not None, "no report drafted with the ticket's work"
    report = env.client.get_workflow_handle_for(DailyReportWorkflow.run, row.workflow_id)
    await report.execute_update(DailyReportWorkflow.confirm, ReportStep("tech1", ["technician"]))
    review = ReportStep("dir1", ["director"], technician="tech1")
    await report.execute_update(DailyReportWorkflow.review, review)
    await report.execute_update(DailyReportWorkflow.sign, ReportStep("mgr1", ["manager"]))
    print("daily report", (await report.result()).status)
    await sleep_days(env, 3)
    branch = env.client.get_workflow_handle_for(
        BranchReportsWorkflow.run, branch_reports_workflow_id("city")
    )
    for name, handle in (("daily_report-signed", report), ("branch_reports-a_week", branch)):
        history = await handle.fetch_history()
        (out / f"{sys.argv[1]}-{name}.json").write_text(history.to_json())


async def main():
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=TEST_SERVER,
        data_converter=DATA_CONVERTER,
    )
    engine = make_engine(f"sqlite:///{tempfile.mkdtemp()}/record.db")
    migrate(engine)
    stock(engine)
    policy = load_policy(None)
    out = HISTORY_DIR
    async with env:
        await register_search_attributes(env.client)
        # In the office's day: a message held for the morning is a child workflow finishing
        # after its ticket, which stalls the time-skipping server's clock (a real server is
        # fine), so the recorded tickets are called in by day.
        now = await env.get_current_time()
        await env.sleep(timedelta(hours=(25 - now.hour) % 24 + 1))
        async with build_worker(env.client, engine, "record"):
            if sys.argv[2:] == ["contract"]:
                await record_contract(env, engine, policy, out)
                return
            if sys.argv[2:] == ["reports"]:
                await record_reports(env, engine, policy, out)
                return
            for name, steps in HISTORIES.items():
                now = await env.get_current_time()
                start = replace(
                    ticket_start(approval_terms=approval_terms(policy)),
                    clock=service_clock(policy, "urban", now),
                    survey=SurveyTerms(),
                    service_type="internal" if name == INTERNAL else "paid",
                    notify=notify_terms(policy),
                    branch="city",
                )
                await register(env.client, start, "record")
                await register(env.client, start, "record")
                handle = env.client.get_workflow_handle_for(
                    TicketWorkflow.run, f"ticket-{start.ticket_id}"
                )
                for action, actor, roles, data in steps:
                    if action == SLEEP:
                        await sleep_days(env, data["days"])
                    else:
                        await take(handle, action, actor, roles, data)
                final = await handle.result()
                print(name, final.status)
                history = await handle.fetch_history()
                (out / f"{sys.argv[1]}-{name}.json").write_text(history.to_json())
                if name == SURVEYED:
                    await record_survey_and_complaint(env, start.ticket_id, out)


if __name__ == "__main__":
    asyncio.run(main())
