"""R2, the entitlement check: an active maintenance contract gives `contract`, an unexpired
warranty gives `warranty`, anything else is `paid`; the decision carries its evidence. Also the
records it reads (`facts_for_serial`) and the product an unknown serial creates
(`ensure_product`), on SQLite and PostgreSQL, and that the decision runs in the workflow sandbox.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

import models.entitlement as host_entitlement
import worker as worker_module
from models.entitlement import ContractFacts, Entitlement, ProductFacts, ServiceType, decide
from models.tables import ContractRecord as Contract
from models.tables import CustomerRecord as Customer
from models.tables import ProductRecord as Product
from store.catalog import ensure_product, facts_for_serial

# The database matters here: run on SQLite and on PostgreSQL.
pytestmark = pytest.mark.both_databases

TODAY = date(2026, 6, 15)
DAY = timedelta(days=1)
MARCH_31 = date(2026, 3, 31)


def product(warranty_until: date | None = None) -> ProductFacts:
    return ProductFacts(serial_no="SN-1", model="TV-55", warranty_until=warranty_until)


def contract(
    starts_on: date, ends_on: date, number: str = "MC-2026-0001", **terms: bool
) -> ContractFacts:
    return ContractFacts(number=number, starts_on=starts_on, ends_on=ends_on, **terms)


# --- decide: the precedence of R2 -------------------------------------------------------------


WARRANTY_RUNNING = TODAY + 300 * DAY
ACTIVE = contract(TODAY - DAY, TODAY + DAY)
STARTS_TOMORROW = contract(TODAY + DAY, TODAY + 9 * DAY)
ENDED_YESTERDAY = contract(TODAY - 9 * DAY, TODAY - DAY)


@pytest.mark.parametrize(
    ("case", "warranty_until", "contracts", "expected"),
    [
        ("active contract beats warranty", WARRANTY_RUNNING, [ACTIVE], "contract"),
        ("active contract, no warranty", None, [ACTIVE], "contract"),
        ("contract's first day counts", None, [contract(TODAY, TODAY + DAY)], "contract"),
        ("contract's last day counts", None, [contract(TODAY - DAY, TODAY)], "contract"),
        ("contract starting tomorrow does not count", None, [STARTS_TOMORROW], "paid"),
        ("contract ended yesterday does not count", None, [ENDED_YESTERDAY], "paid"),
        ("ended contract, warranty running", WARRANTY_RUNNING, [ENDED_YESTERDAY], "warranty"),
        ("upcoming contract, warranty running", WARRANTY_RUNNING, [STARTS_TOMORROW], "warranty"),
        ("warranty's last day counts", TODAY, [], "warranty"),
        ("warranty running", WARRANTY_RUNNING, [], "warranty"),
        ("warranty ended yesterday", TODAY - DAY, [], "paid"),
        ("warranty ended yesterday, contract ended too", TODAY - DAY, [ENDED_YESTERDAY], "paid"),
        ("no warranty, no contract", None, [], "paid"),
    ],
)
def test_decide_follows_r2_precedence(
    case: str, warranty_until: date | None, contracts: list[ContractFacts], expected: str
) -> None:
    # R2: active contract, else unexpired warranty, else paid.
    assert decide(product(warranty_until), contracts, TODAY).service_type == expected, case


def test_active_contract_gives_its_number_period_and_terms_as_evidence() -> None:
    # R2: the decision and its evidence are recorded.
    active = contract(date(2026, 2, 1), date(2027, 1, 31), covers_labor=True, covers_parts=True)
    found = decide(product(TODAY + DAY), [active], TODAY)
    assert found == Entitlement(
        ServiceType.CONTRACT,
        {"contract": "MC-2026-0001", "starts_on": "2026-02-01", "ends_on": "2027-01-31"},
        covers_labor=True,
        covers_parts=True,
    )


def test_contract_terms_default_to_labor_only() -> None:
    found = decide(product(), [contract(TODAY - DAY, TODAY + DAY)], TODAY)
    assert (found.covers_labor, found.covers_parts) == (True, False)


def test_of_overlapping_active_contracts_the_longest_running_decides() -> None:
    older = contract(TODAY - 300 * DAY, TODAY + DAY, "MC-2025-0007", covers_parts=False)
    newer = contract(TODAY - DAY, TODAY + 300 * DAY, "MC-2026-0002", covers_parts=True)
    for contracts in ([older, newer], [newer, older]):
        found = decide(product(), contracts, TODAY)
        assert found.evidence["contract"] == "MC-2026-0002" and found.covers_parts is True


def test_warranty_gives_its_last_day_as_evidence() -> None:
    found = decide(product(TODAY), [], TODAY)
    assert found == Entitlement(ServiceType.WARRANTY, {"warranty_until": "2026-06-15"})
    assert found.covers_labor is None and found.covers_parts is None


def test_unknown_product_is_paid_with_unknown_serial_as_evidence() -> None:
    # R2: "an unknown serial is paid".
    assert decide(None, [], TODAY) == Entitlement(ServiceType.PAID, {"reason": "unknown serial"})


def test_paid_names_what_lapsed() -> None:
    ended = contract(date(2025, 1, 1), date(2025, 12, 31), "MC-2025-0001")
    upcoming = contract(TODAY + DAY, TODAY + 30 * DAY, "MC-2026-0009")
    found = decide(product(date(2026, 3, 31)), [ended, upcoming], TODAY)
    assert found.service_type is ServiceType.PAID
    assert found.evidence == {
        "reason": "warranty expired after 2026-03-31; "
        "contract MC-2025-0001 expired after 2025-12-31; "
        "contract MC-2026-0009 starts on 2026-06-16",
        "warranty_until": "2026-03-31",
    }
    bare = decide(product(), [], TODAY)
    assert bare.evidence == {"reason": "no warranty on record; no maintenance contract"}


# --- the records the check reads, on both databases ------------------------------------------


@pytest.fixture
def db(engine: Engine) -> Iterator[Engine]:
    """The migrated database; the catalog tables are emptied after the test on PostgreSQL
    (its database lives for the whole session)."""
    yield engine
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(
                text("TRUNCATE contracts, products, customers RESTART IDENTITY CASCADE")
            )


def test_facts_for_an_unknown_serial_are_none(db: Engine) -> None:
    with db.connect() as connection:
        assert facts_for_serial(connection, "NO-SUCH-SERIAL") == (None, [])
        assert decide(*facts_for_serial(connection, "NO-SUCH-SERIAL"), TODAY).evidence == {
            "reason": "unknown serial"
        }


def test_facts_for_serial_carry_the_product_and_its_contracts(db: Engine) -> None:
    with Session(db) as session:
        owner = Customer(name="Li Lei", phone="13800000000", address="1 Ring Road")
        session.add(owner)
        session.flush()
        tv = Product(
            serial_no="SN-TV-1", model="TV-55", customer_id=owner.id, warranty_until=MARCH_31
        )
        other = Product(serial_no="SN-TV-2", model="TV-55", customer_id=owner.id)
        session.add_all([tv, other])
        session.flush()
        assert owner.id is not None and tv.id is not None and other.id is not None
        session.add_all(
            [
                Contract(
                    number="MC-2026-0002",
                    customer_id=owner.id,
                    product_id=tv.id,
                    starts_on=date(2026, 2, 1),
                    ends_on=date(2027, 1, 31),
                    covers_parts=True,
                ),
                Contract(
                    number="MC-2025-0001",
                    customer_id=owner.id,
                    product_id=tv.id,
                    starts_on=date(2025, 2, 1),
                    ends_on=date(2026, 1, 31),
                ),
                Contract(
                    number="MC-2026-0003",
                    customer_id=owner.id,
                    product_id=other.id,
                    starts_on=date(2026, 2, 1),
                    ends_on=date(2027, 1, 31),
                ),
            ]
        )
        session.commit()
        ids = (tv.id, owner.id)

    with db.connect() as connection:
        found, contracts = facts_for_serial(connection, "SN-TV-1")
        decided = decide(*facts_for_serial(connection, "SN-TV-1"), TODAY)
    assert found == ProductFacts("SN-TV-1", "TV-55", MARCH_31, *ids)
    assert contracts == [
        ContractFacts("MC-2025-0001", date(2025, 2, 1), date(2026, 1, 31), True, False),
        ContractFacts("MC-2026-0002", date(2026, 2, 1), date(2027, 1, 31), True, True),
    ]
    # R2: the contract running today decides.
    assert decided.service_type is ServiceType.CONTRACT
    assert decided.evidence["contract"] == "MC-2026-0002" and decided.covers_parts is True


def test_ensure_product_creates_an_unknown_serial_once(db: Engine) -> None:
    # R2: "an unknown serial is paid and creates the product record".
    with db.begin() as connection:
        created = ensure_product(connection, "SN-NEW-1", "Fridge-2")
    with db.begin() as connection:
        again = ensure_product(connection, "SN-NEW-1", "some other model")
        found, contracts = facts_for_serial(connection, "SN-NEW-1")
    assert again == created
    # The existing record is left as it was: no owner, no warranty, the first model.
    assert found == ProductFacts("SN-NEW-1", "Fridge-2", None, created, None)
    assert contracts == []
    assert decide(found, contracts, TODAY).service_type is ServiceType.PAID


def test_ensure_product_returns_an_existing_products_id(db: Engine) -> None:
    with Session(db) as session:
        known = Product(serial_no="SN-KNOWN", model="TV-55", warranty_until=TODAY)
        session.add(known)
        session.commit()
        known_id = known.id
    with db.begin() as connection:
        assert ensure_product(connection, "SN-KNOWN", "TV-55") == known_id


def test_ensure_product_rolls_back_with_the_callers_transaction(db: Engine) -> None:
    with pytest.raises(RuntimeError), db.begin() as connection:
        ensure_product(connection, "SN-ROLLED-BACK", "TV-55")
        raise RuntimeError("the registration failed")
    with db.connect() as connection:
        assert facts_for_serial(connection, "SN-ROLLED-BACK") == (None, [])


def test_concurrent_ensure_product_calls_agree_on_one_record(db: Engine) -> None:
    # Two call-ins for the same new serial at once: one product, both get its id, none fails.
    serial = f"SN-RACE-{uuid.uuid4().hex[:8]}"
    workers = 6
    start = threading.Barrier(workers)
    ids: list[int] = []
    errors: list[BaseException] = []

    def register() -> None:
        try:
            with db.begin() as connection:
                start.wait(timeout=10)
                ids.append(ensure_product(connection, serial, "TV-55"))
        except BaseException as error:  # collected and asserted on below
            errors.append(error)

    threads = [threading.Thread(target=register) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(ids) == workers and len(set(ids)) == 1
    with db.connect() as connection:
        count = connection.execute(
            text("SELECT count(*) FROM products WHERE serial_no = :s"), {"s": serial}
        ).scalar_one()
    assert count == 1


# --- the workflow sandbox --------------------------------------------------------------------


@workflow.defn(name="DecideInSandbox", sandboxed=True, failure_exception_types=[Exception])
class DecideInSandbox:
    """Imports models.entitlement afresh inside the sandbox (not passed through) and decides,
    so anything the sandbox forbids at import or call time fails here."""

    @workflow.run
    async def run(self) -> list[str]:
        import models.entitlement as fresh

        facts = fresh.ProductFacts("SN-1", "TV-55", date(2026, 6, 30))
        terms = fresh.ContractFacts("MC-2026-0001", date(2026, 1, 1), date(2026, 12, 31))
        on = date(2026, 6, 15)
        return [
            str(fresh is not host_entitlement),
            fresh.decide(facts, [terms], on).service_type.value,
            fresh.decide(facts, [], on).service_type.value,
            fresh.decide(None, [], on).evidence["reason"],
        ]


async def test_decide_runs_inside_the_workflow_sandbox(time_env: WorkflowEnvironment) -> None:
    modules = [m for m in worker_module.PASSTHROUGH_MODULES if m != "models"]
    restrictions = SandboxRestrictions.default.with_passthrough_modules(
        *modules, "tests"
    ).with_import_notification_policy(workflow.SandboxImportNotificationPolicy.SILENT)
    queue = f"sandbox-{uuid.uuid4()}"
    async with Worker(
        time_env.client,
        task_queue=queue,
        workflows=[DecideInSandbox],
        workflow_runner=SandboxedWorkflowRunner(restrictions=restrictions),
    ):
        result = await time_env.client.execute_workflow(
            DecideInSandbox.run, id=f"sandbox-{uuid.uuid4()}", task_queue=queue
        )
    assert result == ["True", "contract", "warranty", "unknown serial"]
