"""Customers, products and maintenance contracts: the records behind the entitlement check (R2).

Anyone signed in reads them; front-office roles keep them.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.concurrency import run_in_threadpool
from temporalio.service import RPCError

from api import contract_commands
from api.deps import OfficeDay, ServicesDep, SessionDep, reader, require_roles
from api.params import Limit, Offset, RowId
from api.schemas.catalog import (
    ContractCreate,
    ContractEventPublic,
    ContractPublic,
    ContractUpdate,
    CustomerCreate,
    CustomerDetail,
    CustomerPublic,
    CustomerUpdate,
    EntitlementPublic,
    InspectionPublic,
    ProductCreate,
    ProductDetail,
    ProductPublic,
    ProductUpdate,
    TerminateBody,
)
from api.schemas.sites import SafetyAgreementBody, SafetyAgreementPublic
from models.contract import ChangeKind, ContractChange, ContractTerms, changed, requested_changes
from models.refusals import field_refused
from models.roles import Reading, Role
from models.tables import ContractRecord, CustomerRecord, ProductRecord, User
from store import catalog, sites
from store import contracts as contract_store

log = logging.getLogger("aftersales.contracts")

CATALOG_EDITORS = (Role.CLERK, Role.DISPATCHER, Role.DIRECTOR, Role.SALES, Role.ADMIN)
Editor = Annotated[User, Depends(require_roles(*CATALOG_EDITORS))]
Reader = Annotated[User, Depends(reader(Reading.CATALOG))]
# Integer ids in queries, bounded like the path's.
IdQuery = Annotated[int, Query(ge=1, le=2_147_483_647)]
Search = Annotated[str, Query(min_length=1, max_length=200)]

customers = APIRouter(prefix="/customers", tags=["customers"])
products = APIRouter(prefix="/products", tags=["products"])
contracts = APIRouter(prefix="/contracts", tags=["contracts"])


# --- customers ------------------------------------------------------------------------------


@customers.post("", status_code=status.HTTP_201_CREATED, response_model=CustomerPublic)
def create_customer(new: CustomerCreate, db: SessionDep, _: Editor) -> CustomerPublic:
    return CustomerPublic.from_record(catalog.create_customer(db, new.model_dump()))


@customers.get("", response_model=list[CustomerPublic])
def list_customers(
    db: SessionDep,
    _: Reader,
    response: Response,
    phone: Search | None = None,
    name: Search | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[CustomerPublic]:
    """Customers by exact phone and/or part of the name; `X-Total-Count` tells how many match."""
    page, total = catalog.find_customers(db, phone=phone, name=name, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    return [CustomerPublic.from_record(row) for row in page]


def _customer_detail(db: SessionDep, customer: CustomerRecord, today: date) -> CustomerDetail:
    assert customer.id is not None
    return CustomerDetail(
        **CustomerPublic.from_record(customer).model_dump(),
        products=[ProductPublic.from_record(p) for p in catalog.customer_products(db, customer.id)],
        contracts=[
            ContractPublic.from_record(c, today)
            for c in catalog.customer_contracts(db, customer.id)
        ],
    )


@customers.get("/{customer_id}", response_model=CustomerDetail)
def get_customer(customer_id: RowId, db: SessionDep, _: Reader, today: OfficeDay) -> CustomerDetail:
    """The customer with their products and contracts."""
    return _customer_detail(db, catalog.get_customer(db, customer_id), today)


@customers.patch("/{customer_id}", response_model=CustomerDetail)
def update_customer(
    customer_id: RowId, changes: CustomerUpdate, db: SessionDep, _: Editor, today: OfficeDay
) -> CustomerDetail:
    customer = catalog.get_customer(db, customer_id)
    return _customer_detail(db, catalog.update_customer(db, customer, changes.changes()), today)


@customers.post(
    "/{customer_id}/safety-agreements",
    status_code=status.HTTP_201_CREATED,
    response_model=SafetyAgreementPublic,
)
def add_safety_agreement(
    customer_id: RowId, new: SafetyAgreementBody, db: SessionDep, user: Editor
) -> SafetyAgreementPublic:
    """R33: records a safety agreement signed for the customer's site; a site that requires
    one takes technicians while one is valid."""
    row = sites.add_agreement(db, customer_id, new.model_dump(), user.username)
    return SafetyAgreementPublic.from_record(row)


@customers.get("/{customer_id}/safety-agreements", response_model=list[SafetyAgreementPublic])
def list_safety_agreements(
    customer_id: RowId, db: SessionDep, _: Reader
) -> list[SafetyAgreementPublic]:
    """R33: the customer's safety agreements, the longest-valid first."""
    catalog.get_customer(db, customer_id)
    return [SafetyAgreementPublic.from_record(row) for row in sites.agreements(db, customer_id)]


# --- products -------------------------------------------------------------------------------


def _product_detail(db: SessionDep, product: ProductRecord, on: date) -> ProductDetail:
    return ProductDetail(
        **ProductPublic.from_record(product).model_dump(),
        contracts=[
            ContractPublic.from_record(c, on) for c in catalog.product_contracts(db, product.id)
        ],
        entitlement=EntitlementPublic.of(catalog.product_entitlement(db, product, on), on),
    )


@products.post("", status_code=status.HTTP_201_CREATED, response_model=ProductDetail)
def create_product(
    new: ProductCreate, db: SessionDep, _: Editor, today: OfficeDay
) -> ProductDetail:
    return _product_detail(db, catalog.create_product(db, new.model_dump()), today)


@products.get("", response_model=list[ProductPublic])
def list_products(
    db: SessionDep,
    _: Reader,
    response: Response,
    serial_no: Search | None = None,
    customer_id: IdQuery | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[ProductPublic]:
    """Products by exact serial number and/or owner; `X-Total-Count` tells how many match."""
    page, total = catalog.find_products(
        db, serial_no=serial_no, customer_id=customer_id, limit=limit, offset=offset
    )
    response.headers["X-Total-Count"] = str(total)
    return [ProductPublic.from_record(row) for row in page]


@products.get("/{product_id}", response_model=ProductDetail)
def get_product(
    product_id: RowId, db: SessionDep, _: Reader, today: OfficeDay, on: date | None = None
) -> ProductDetail:
    """The product, its contracts, and its entitlement (R2) on `on` (default: today in the
    office): the service type a call-in would get, with the evidence."""
    return _product_detail(db, catalog.get_product(db, product_id), on or today)


@products.patch("/{product_id}", response_model=ProductDetail)
def update_product(
    product_id: RowId, changes: ProductUpdate, db: SessionDep, _: Editor, today: OfficeDay
) -> ProductDetail:
    product = catalog.get_product(db, product_id)
    product = catalog.update_product(db, product, changes.changes())
    return _product_detail(db, product, today)


# --- contracts ------------------------------------------------------------------------------


@contracts.post("", status_code=status.HTTP_201_CREATED, response_model=ContractPublic)
async def create_contract(
    new: ContractCreate, app: ServicesDep, _: Editor, today: OfficeDay
) -> ContractPublic:
    """A maintenance contract on a product of the customer; numbered MC-<year>-<seq> unless
    the body gives a number. Its workflow starts at once and keeps its calendar (R31, R32):
    `GET /contracts/{id}/calendar`."""
    policy = app.policy
    if new.zone not in policy.zones:
        known = ", ".join(sorted(policy.zones))
        raise field_refused("zone", f"unknown zone '{new.zone}'; the policy's zones are: {known}")
    values = new.model_dump()
    values["dates"] = [day.isoformat() for day in new.dates]
    checklists = policy.contracts.checklists
    values["checklist"] = new.checklist or checklists.get(new.kind or "default") or []
    if new.every is None and not new.dates:
        values["every"] = policy.contracts.every

    def create() -> tuple[ContractPublic, ContractTerms]:
        with app.session() as db:
            row = catalog.create_contract(db, values)
            return ContractPublic.from_record(row, today), contract_store.contract_terms(
                db, policy, row
            )

    saved, terms = await run_in_threadpool(create)
    try:
        await contract_commands.start(app.temporal, app.settings.task_queue, terms, policy)
    except RPCError as error:
        # Saved all the same: the worker starts it when it next starts (jobs/contracts.py).
        log.warning("contract %s saved, its workflow not started yet: %s", saved.number, error)
        return saved

    def started() -> ContractPublic:
        with app.session() as db:
            row = catalog.get_contract(db, terms.contract_id)
            contract_store.mark_started(db, row)
            return ContractPublic.from_record(row, today)

    return await run_in_threadpool(started)


@contracts.get("", response_model=list[ContractPublic])
def list_contracts(
    db: SessionDep,
    _: Reader,
    response: Response,
    today: OfficeDay,
    customer_id: IdQuery | None = None,
    product_id: IdQuery | None = None,
    active_on: date | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[ContractPublic]:
    """Contracts, latest start first, by customer, product and/or a day they cover."""
    page, total = catalog.find_contracts(
        db,
        customer_id=customer_id,
        product_id=product_id,
        active_on=active_on,
        limit=limit,
        offset=offset,
    )
    response.headers["X-Total-Count"] = str(total)
    return [ContractPublic.from_record(row, today) for row in page]


@contracts.get("/{contract_id}", response_model=ContractPublic)
def get_contract(contract_id: RowId, db: SessionDep, _: Reader, today: OfficeDay) -> ContractPublic:
    return ContractPublic.from_record(catalog.get_contract(db, contract_id), today)


async def _contract(app: ServicesDep, contract_id: int) -> tuple[ContractRecord, ContractTerms]:
    """The contract's row (read, not to be written) and the terms its workflow keeps."""

    def read() -> tuple[ContractRecord, ContractTerms]:
        with app.session() as db:
            row = catalog.get_contract(db, contract_id)
            return row, contract_store.contract_terms(db, app.policy, row)

    return await run_in_threadpool(read)


@contracts.patch("/{contract_id}", response_model=ContractPublic)
async def update_contract(
    contract_id: RowId, changes: ContractUpdate, app: ServicesDep, user: Editor, today: OfficeDay
) -> ContractPublic:
    """A later `ends_on` renews or extends the contract; `every`, `dates`, `checklist` or
    `free_maintenance_until` reschedule it; its workflow moves what is still to come."""
    fields = changes.changes()
    row, terms = await _contract(app, contract_id)
    requests = []
    if row.workflow_started:
        requests = requested_changes(
            terms,
            fields,
            user.username,
            lambda ends_on: app.policy.period_calendar(row.zone, row.starts_on, ends_on),
        )
        now = datetime.now(UTC)
        for request in requests:
            changed(terms, request, now)
    if "dates" in fields:
        fields["dates"] = [day.isoformat() for day in fields["dates"]]

    def save() -> ContractPublic:
        with app.session() as db:
            contract = catalog.get_contract(db, contract_id)
            return ContractPublic.from_record(catalog.update_contract(db, contract, fields), today)

    # The workflow first: a contract that has ended (or refuses) changes nowhere.
    for request in requests:
        await contract_commands.change(app.temporal, terms, request)
    return await run_in_threadpool(save)


@contracts.post("/{contract_id}/terminate", response_model=ContractPublic)
async def terminate_contract(
    contract_id: RowId, body: TerminateBody, app: ServicesDep, user: Editor, today: OfficeDay
) -> ContractPublic:
    """R31: the contract ends early; nothing of its calendar happens after that day."""
    on = body.terminated_on or today
    row, terms = await _contract(app, contract_id)
    request = ContractChange(ChangeKind.TERMINATE, user.username, terminated_on=on)
    changed(terms, request, datetime.now(UTC))

    def save() -> ContractPublic:
        with app.session() as db:
            contract = catalog.get_contract(db, contract_id)
            ended = catalog.update_contract(db, contract, {"terminated_on": on})
            return ContractPublic.from_record(ended, today)

    if row.workflow_started:
        await contract_commands.change(app.temporal, terms, request)
    return await run_in_threadpool(save)


@contracts.get("/{contract_id}/calendar", response_model=list[ContractEventPublic])
async def contract_calendar(
    contract_id: RowId,
    app: ServicesDep,
    _: Reader,
    past: Annotated[bool, Query(description="also what was done (or missed)")] = False,
) -> list[ContractEventPublic]:
    """The contract's upcoming events (inspections, follow-ups, notices, renewal), oldest
    first (R31, R32)."""

    row, terms = await _contract(app, contract_id)
    return await contract_commands.calendar(app.temporal, terms, row.workflow_started, past)


@contracts.get("/{contract_id}/inspections", response_model=list[InspectionPublic])
def contract_inspections(contract_id: RowId, db: SessionDep, _: Reader) -> list[InspectionPublic]:
    """R32: the contract's inspection jobs, oldest first, with their checklists' results."""
    uid = catalog.get_contract(db, contract_id).uid
    rows = contract_store.inspections(db, [uid] if uid else [])
    return [InspectionPublic.from_record(row) for row in rows]


@customers.get("/{customer_id}/inspections", response_model=list[InspectionPublic])
def site_inspections(customer_id: RowId, db: SessionDep, _: Reader) -> list[InspectionPublic]:
    """R32: every inspection at the customer's site, oldest first."""
    catalog.get_customer(db, customer_id)
    rows = contract_store.inspections(db, contract_store.of_customer(db, customer_id))
    return [InspectionPublic.from_record(row) for row in rows]


router = APIRouter()
for _router in (customers, products, contracts):
    router.include_router(_router)
