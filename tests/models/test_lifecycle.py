"""The lifecycle machine against the table in shared/spec/api.md (R3–R9), who may take which
step (R4–R8), and that the modules the ticket workflow uses load inside Temporal's sandbox."""

from __future__ import annotations

import uuid
from decimal import Decimal
from itertools import product
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

import models.lifecycle as host_lifecycle
import worker as worker_module
from core.db import make_engine, migrate
from models.lifecycle import (
    Action,
    Status,
    TicketFacts,
    TransitionRefused,
    allowed_actions,
    next_status,
    refusal_message,
)
from models.roles import acting_for, refusal
from models.ticket import (
    BillingTerms,
    CallIn,
    Customer,
    Product,
    RegisterRequest,
    TicketStart,
)
from workflows.ticket import TicketWorkflow

# Written from shared/spec/api.md's table, not from models/lifecycle.py:
# (status, action) -> destination; every pair not listed is refused.
STATUSES = [
    "registered",
    "dispatched",
    "on_site",
    "carried_in",
    "repaired",
    "ready_for_return",
    "resolved",
    "closed",
    "cancelled",
]
# In the order of the spec's table, which is also the order `allowed_actions` shows them in.
ACTIONS = [
    "dispatch",
    "arrive",
    "resolve",
    "carry_in",
    "record_repair",
    "inspect",
    "return",
    "record_payment",
    "cancel",
]
SPEC_TABLE: dict[tuple[str, str], str] = {
    ("registered", "dispatch"): "dispatched",  # R4
    ("dispatched", "dispatch"): "dispatched",  # R4: reassignment
    ("dispatched", "arrive"): "on_site",  # R5
    ("on_site", "resolve"): "resolved",  # R5
    ("on_site", "carry_in"): "carried_in",  # R7
    ("carried_in", "record_repair"): "repaired",  # R8
    # `inspect` and `record_payment` depend on the outcome; see CONDITIONAL below.
    ("repaired", "inspect"): "ready_for_return",
    ("ready_for_return", "return"): "resolved",  # R8
    ("resolved", "record_payment"): "closed",
    ("registered", "cancel"): "cancelled",
    ("dispatched", "cancel"): "cancelled",
}
# Destinations that depend on the facts of the step: (status, action, flag value) -> dest.
CONDITIONAL = {
    # R8: a passed inspection readies the product for return, a failed one sends it back.
    ("repaired", "inspect", "inspection_passed", True): "ready_for_return",
    ("repaired", "inspect", "inspection_passed", False): "carried_in",
    # A payment closes the ticket once it is fully paid; a partial one leaves it resolved.
    ("resolved", "record_payment", "fully_paid", True): "closed",
    ("resolved", "record_payment", "fully_paid", False): "resolved",
}
# The spec's actions, then R12's hold (before arrival) and R15's promise (until resolved).
EXPECTED_ALLOWED = {
    "registered": ["dispatch", "cancel", "hold", "promise"],
    "dispatched": ["dispatch", "arrive", "cancel", "hold", "promise"],
    "on_site": ["resolve", "carry_in", "promise"],
    "carried_in": ["record_repair", "promise"],
    "repaired": ["inspect", "promise"],
    "ready_for_return": ["return", "promise"],
    "resolved": ["record_payment"],
    "closed": [],
    "cancelled": [],
}
FLAGS = list(product([False, True], repeat=2))


def test_the_spec_knows_every_status_the_code_has() -> None:
    assert sorted(STATUSES) == sorted(s.value for s in Status)


@pytest.mark.parametrize(("status", "action"), list(product(STATUSES, ACTIONS)))
def test_every_action_from_every_status_follows_the_spec_table(status: str, action: str) -> None:
    for inspection_passed, fully_paid in FLAGS:
        facts = {"inspection_passed": inspection_passed, "fully_paid": fully_paid}
        expected = SPEC_TABLE.get((status, action))
        for (s, a, flag, value), dest in CONDITIONAL.items():
            if (s, a) == (status, action) and facts[flag] is value:
                expected = dest
        if expected is None:
            with pytest.raises(TransitionRefused) as refused:
                next_status(Status(status), action, **facts)
            # The refusal names what was tried and where the ticket stands (the API's 409).
            assert refused.value.action == action and refused.value.status == status
            assert f"'{action}'" in str(refused.value) and f"'{status}'" in str(refused.value)
        else:
            assert next_status(Status(status), action, **facts) == expected, facts


@pytest.mark.parametrize("status", STATUSES)
def test_unknown_actions_are_refused(status: str) -> None:
    for action in ["fly", "", "DISPATCH", "Dispatch", "close "]:
        with pytest.raises(TransitionRefused):
            next_status(Status(status), action)


def test_passed_inspection_readies_the_product_failed_one_sends_it_back() -> None:
    # R8
    assert next_status(Status.REPAIRED, "inspect", inspection_passed=True) == "ready_for_return"
    assert next_status(Status.REPAIRED, "inspect", inspection_passed=False) == "carried_in"
    # Back in the workshop, the repair is recorded again, then inspected again.
    assert next_status(Status.CARRIED_IN, "record_repair") == "repaired"


def test_partial_payment_keeps_the_ticket_resolved_full_payment_closes_it() -> None:
    # R21: payments are recorded against the invoice; only full payment closes.
    assert next_status(Status.RESOLVED, "record_payment", fully_paid=False) == "resolved"
    assert next_status(Status.RESOLVED, "record_payment", fully_paid=True) == "closed"


@pytest.mark.parametrize("status", STATUSES)
def test_allowed_actions_per_status_in_the_spec_tables_order(status: str) -> None:
    assert allowed_actions(Status(status)) == EXPECTED_ALLOWED[status]


@pytest.mark.parametrize("status", ["registered", "dispatched"])
def test_on_hold_the_technician_cannot_arrive_and_only_resume_ends_the_hold(status: str) -> None:
    # R12: the customer cannot receive the technician; the clock pauses until `resume`.
    on_hold = TicketFacts(on_hold=True)
    held = allowed_actions(Status(status), on_hold)
    assert "resume" in held and "hold" not in held and "arrive" not in held
    assert "resume" not in allowed_actions(Status(status))
    with pytest.raises(TransitionRefused):
        next_status(Status(status), "arrive", facts=on_hold)
    with pytest.raises(TransitionRefused):
        next_status(Status(status), "hold", facts=on_hold)
    assert next_status(Status(status), "resume", facts=on_hold) == status
    assert next_status(Status(status), "dispatch", facts=on_hold) == "dispatched"
    if status == "dispatched":
        why = refusal_message(Status(status), "arrive", on_hold, "customer abroad")
        assert "on hold (customer abroad)" in why and "'resume'" in why


def test_close_is_the_workflows_own_step_never_offered_to_people() -> None:
    # "A resolved ticket with nothing to pay closes by itself" — the workflow takes `close`.
    assert next_status(Status.RESOLVED, "close") == "closed"
    for status in STATUSES:
        assert "close" not in allowed_actions(Status(status))
        if status != "resolved":
            with pytest.raises(TransitionRefused):
                next_status(Status(status), "close")


def test_terminal_statuses_allow_nothing() -> None:
    for status in ["closed", "cancelled"]:
        for action in [*ACTIONS, "close"]:
            with pytest.raises(TransitionRefused):
                next_status(Status(status), action, inspection_passed=True, fully_paid=True)


# --- the work order (R17-R20), on tickets called in with the approval terms ---------------

WORK_ORDER = TicketFacts(money_rules=True)
PAID_WORK_ORDER = TicketFacts(money_rules=True, paid=True)
# A paid job's work order: no deposit (a warranty claim's, below).
EXPECTED_WITH_WORK_ORDER = {
    "registered": ["dispatch", "cancel", "hold", "promise"],
    "dispatched": ["dispatch", "arrive", "cancel", "hold", "promise"],
    "on_site": [
        "resolve",
        "carry_in",
        "promise",
        "issue_parts",
        "return_parts",
        "discount",
    ],
    # A quotation only where one is required (paid work, R19): see below.
    "carried_in": [
        "record_repair",
        "promise",
        "issue_parts",
        "return_parts",
        "discount",
    ],
    "repaired": ["inspect", "promise", "issue_parts", "return_parts", "discount"],
    "ready_for_return": ["return", "promise", "return_parts", "discount"],
    "resolved": ["record_payment", "return_parts"],
    "closed": [],
    "cancelled": [],
}


@pytest.mark.parametrize("status", STATUSES)
def test_a_work_order_adds_parts_quotation_discount_and_deposit_steps(status: str) -> None:
    # R19: parts only against an open work order (past arrival or in the workshop); R17: a
    # discount before the invoice; unused parts go back until the ticket closes.
    assert allowed_actions(Status(status), PAID_WORK_ORDER) == EXPECTED_WITH_WORK_ORDER[status]


def test_a_discount_is_for_paid_work_and_a_deposit_for_a_warranty_claim() -> None:
    # R17: a discount applies to a general repair; R19: a deposit is taken on a claim.
    claim = TicketFacts(money_rules=True, claim=True)
    assert "discount" not in allowed_actions(Status.ON_SITE, claim)
    assert "take_deposit" in allowed_actions(Status.ON_SITE, claim)
    assert "take_deposit" not in allowed_actions(Status.ON_SITE, PAID_WORK_ORDER)
    assert "general (paid) repair" in refusal_message(Status.ON_SITE, "discount", claim)
    assert "warranty claim only" in refusal_message(Status.ON_SITE, "take_deposit", PAID_WORK_ORDER)


def test_tickets_from_before_work_orders_are_told_so() -> None:
    with pytest.raises(TransitionRefused):
        next_status(Status.CARRIED_IN, "issue_parts")
    why = refusal_message(Status.CARRIED_IN, "issue_parts")
    assert "called in before work orders" in why


def test_a_pending_quotation_blocks_the_repair_and_the_parts_until_accepted() -> None:
    # R19: the customer accepts the quotation before the repair starts.
    waiting = TicketFacts(money_rules=True, paid=True, quote_pending=True)
    assert allowed_actions(Status.CARRIED_IN, waiting) == [
        "promise",
        "return_parts",
        "quote",
        "discount",
    ]
    for action in ["record_repair", "issue_parts"]:
        with pytest.raises(TransitionRefused):
            next_status(Status.CARRIED_IN, action, facts=waiting)
        why = refusal_message(Status.CARRIED_IN, action, waiting)
        assert "not accepted the quotation" in why and "'accept_quote'" in why
    quoted = TicketFacts(money_rules=True, quote_pending=True, quoted=True)
    assert next_status(Status.CARRIED_IN, "accept_quote", facts=quoted) == "carried_in"
    # A declined quotation returns the product unrepaired.
    assert next_status(Status.CARRIED_IN, "decline_quote", facts=quoted) == "ready_for_return"


def test_an_undecided_warranty_responsibility_blocks_the_repair() -> None:
    # R20: the defect is inspected and its responsibility decided before it is repaired.
    undecided = TicketFacts(money_rules=True, responsibility_pending=True)
    assert "decide_responsibility" in allowed_actions(Status.ON_SITE, undecided)
    assert "decide_responsibility" not in allowed_actions(Status.ON_SITE, WORK_ORDER)
    for status, action in [(Status.ON_SITE, "resolve"), (Status.CARRIED_IN, "record_repair")]:
        with pytest.raises(TransitionRefused):
            next_status(status, action, facts=undecided)
        assert "'decide_responsibility' first" in refusal_message(status, action, undecided)


def test_a_held_invoice_takes_no_payment_until_the_director_decides() -> None:
    # R18: a low margin is approved before the job is invoiced.
    held = TicketFacts(money_rules=True, invoice_waiting=True)
    assert "record_payment" not in allowed_actions(Status.RESOLVED, held)
    with pytest.raises(TransitionRefused):
        next_status(Status.RESOLVED, "record_payment", fully_paid=True, facts=held)
    assert "margin (R18)" in refusal_message(Status.RESOLVED, "record_payment", held)


# --- who may take a step (R4–R8) -----------------------------------------------------------


def test_technician_not_assigned_is_refused_naming_the_assigned_technician() -> None:
    why = refusal("arrive", "tech2", ["technician"], "tech1")
    assert why is not None and "'tech1'" in why and "arrive" in why


def test_technician_on_an_unassigned_ticket_is_refused() -> None:
    why = refusal("arrive", "tech1", ["technician"], None)
    assert why is not None and "nobody" in why


def test_assigned_technician_takes_their_own_steps_for_no_one_else() -> None:
    for action in ["arrive", "resolve", "carry_in", "record_repair", "return"]:
        assert refusal(action, "tech1", ["technician"], "tech1") is None
        assert acting_for(action, "tech1", ["technician"], "tech1") is None


def test_director_acting_for_the_technician_is_allowed_and_recorded() -> None:
    # R11: the timeline records whom a supervisor acted for.
    for action in ["arrive", "resolve", "carry_in", "record_repair", "return"]:
        assert refusal(action, "dir1", ["director"], "tech1") is None
        assert acting_for(action, "dir1", ["director"], "tech1") == "tech1"


def test_supervisors_own_steps_are_not_acting_for_anyone() -> None:
    assert acting_for("dispatch", "dir1", ["director"], "tech1") is None
    assert acting_for("inspect", "dir1", ["director"], "tech1") is None


@pytest.mark.parametrize(
    ("action", "roles", "needed"),
    [
        ("dispatch", ["clerk"], "dispatcher"),  # R4: a supervisor dispatches
        ("dispatch", ["technician"], "dispatcher"),
        ("inspect", ["technician"], "director"),  # R8: a supervisor inspects
        ("record_payment", ["clerk"], "accountant"),
        ("cancel", ["technician"], "clerk"),
        ("arrive", ["clerk"], "technician"),
    ],
)
def test_a_role_without_the_step_is_refused_naming_the_needed_role(
    action: str, roles: list[str], needed: str
) -> None:
    why = refusal(action, "someone", roles, "someone")
    assert why is not None and f"'{action}'" in why and needed in why


# --- the workflow sandbox ------------------------------------------------------------------


@workflow.defn(name="ImportModelsInSandbox", sandboxed=True, failure_exception_types=[Exception])
class ImportModelsInSandbox:
    """Imports the models afresh inside the sandbox (they are not passed through) and uses
    them, so any import-time or call-time non-determinism the sandbox forbids fails here."""

    @workflow.run
    async def run(self) -> list[str]:
        import models.actions
        import models.lifecycle
        import models.pricing
        import models.roles
        import models.ticket

        fresh = models.lifecycle is not host_lifecycle
        dest = models.lifecycle.next_status(models.lifecycle.Status.REGISTERED, "dispatch")
        body = models.actions.ACTION_BODIES["dispatch"].model_validate({"technician": "t1"})
        fee = models.pricing.job_fee(30, [{"unit_price": "5.00", "qty": 2}], 120, "paid")
        why = models.roles.refusal("arrive", "t2", ["technician"], "t1")
        state = models.ticket.TicketState.__name__
        return [str(fresh), dest, body.technician, str(fee), str(why is not None), state]


def _runner_without_models_passthrough() -> SandboxedWorkflowRunner:
    # The worker's own third-party passthroughs, but `models` imported inside the sandbox.
    # This test module is passed through so the workflow's host globals stay the host's.
    modules = [m for m in worker_module.PASSTHROUGH_MODULES if m != "models"]
    restrictions = SandboxRestrictions.default.with_passthrough_modules(
        *modules, "tests"
    ).with_import_notification_policy(workflow.SandboxImportNotificationPolicy.SILENT)
    return SandboxedWorkflowRunner(restrictions=restrictions)


async def test_workflow_models_import_and_run_inside_the_sandbox(
    time_env: WorkflowEnvironment,
) -> None:
    queue = f"sandbox-{uuid.uuid4()}"
    async with Worker(
        time_env.client,
        task_queue=queue,
        workflows=[ImportModelsInSandbox],
        workflow_runner=_runner_without_models_passthrough(),
    ):
        result = await time_env.client.execute_workflow(
            ImportModelsInSandbox.run, id=f"sandbox-{uuid.uuid4()}", task_queue=queue
        )
    assert result == ["True", "dispatched", "t1", "70.00", "True", "TicketState"]


async def test_ticket_workflow_registers_a_call_in_under_the_workers_sandbox(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    # The worker exactly as production builds it (its sandbox runner and passthroughs):
    # constructing it validates TicketWorkflow in the sandbox, and one registration runs it.
    engine = make_engine(f"sqlite:///{tmp_path / 'sandbox.db'}")
    migrate(engine)
    queue = f"sandbox-{uuid.uuid4()}"
    call_in = CallIn(
        customer=Customer("Li Lei", "13800000000", "1 Ring Road"),
        product=Product("TV-55", "SN1"),
        zone="urban",
        problem="no picture",
        channel="phone",
    )
    terms = BillingTerms(hourly_rate=Decimal("120.00"), small_fee_threshold=Decimal("200.00"))
    start = TicketStart(f"t-{uuid.uuid4()}", call_in, "clerk1", terms, "fingerprint")
    try:
        async with worker_module.build_worker(time_env.client, engine, queue):
            state = await time_env.client.execute_update_with_start_workflow(
                TicketWorkflow.register,
                RegisterRequest(start.fingerprint),
                start_workflow_operation=WithStartWorkflowOperation(
                    TicketWorkflow.run,
                    start,
                    id=f"ticket-{start.ticket_id}",
                    task_queue=queue,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                ),
            )
        assert state.status is Status.REGISTERED
        assert state.number is not None and state.number.startswith("T")
    finally:
        engine.dispose()


def test_the_three_action_tables_name_the_same_actions() -> None:
    # The lifecycle (what a status allows), the bodies (what a step carries) and the roles (who
    # takes it) are three tables: a step in one and not the others is a step nobody can take.
    from models.actions import ACTION_BODIES
    from models.lifecycle import HUMAN_ACTIONS, TRANSITIONS
    from models.roles import ACTION_ROLES

    in_transitions = {str(t["trigger"]) for t in TRANSITIONS} - {Action.CLOSE}
    assert in_transitions == set(HUMAN_ACTIONS)
    assert set(ACTION_BODIES) == in_transitions
    assert set(ACTION_ROLES) == in_transitions
