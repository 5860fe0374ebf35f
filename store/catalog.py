"""Customers, their products and maintenance contracts: the records the entitlement check
reads at call-in (R2), and the functions that keep them.

`facts_for_serial` and `ensure_product` work on a Connection inside the caller's transaction
(the ticket's registration); the rest take an ORM Session (the API). Refusals are `Refused`:
NOT_FOUND, CONFLICT (a taken serial or contract number), INVALID_PAYLOAD naming the field.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import insert, or_, text, update
from sqlalchemy import select as core_select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from models.entitlement import ContractFacts, Entitlement, ProductFacts, decide
from models.refusals import CONFLICT, NOT_FOUND, Refused, field_refused
from models.tables import ContractRecord, CustomerRecord, ProductRecord, TicketRecord, utcnow
from models.ticket import Customer
from store.sql import NEXT_VALUE, contains, insert_missing, page

# --- the entitlement check's reads, on the caller's connection (R2) --------------------------

_products = ProductRecord.__table__  # type: ignore[attr-defined]
_customers = CustomerRecord.__table__  # type: ignore[attr-defined]
_contracts = ContractRecord.__table__  # type: ignore[attr-defined]


def _contract_facts(row: Any) -> ContractFacts:
    return ContractFacts(
        number=row.number,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        covers_labor=row.covers_labor,
        covers_parts=row.covers_parts,
        arrival_hours=row.arrival_hours,
    )


def _product_facts(row: Any) -> ProductFacts:
    return ProductFacts(
        serial_no=row.serial_no,
        model=row.model,
        warranty_until=row.warranty_until,
        product_id=row.id,
        customer_id=row.customer_id,
    )


def facts_for_serial(
    connection: Connection, serial_no: str
) -> tuple[ProductFacts | None, list[ContractFacts]]:
    """The product with `serial_no` (None if unknown) and all its contracts, oldest first."""
    product = connection.execute(
        core_select(_products).where(_products.c.serial_no == serial_no)
    ).one_or_none()
    if product is None:
        return None, []
    contracts = connection.execute(
        core_select(_contracts)
        .where(_contracts.c.product_id == product.id)
        .order_by(_contracts.c.starts_on, _contracts.c.number)
    ).all()
    return _product_facts(product), [_contract_facts(row) for row in contracts]


def contract_arrival_hours(session: Session, serial_no: str | None, on: date) -> float | None:
    """R13: the arrival hours of the contract a call-in on `serial_no` would be served under
    on `on` (R2 picks it), if that contract sets its own."""
    if serial_no is None:
        return None
    product, contracts = facts_for_serial(session.connection(), serial_no)
    number = decide(product, contracts, on).evidence.get("contract")
    return next((c.arrival_hours for c in contracts if c.number == number), None)


FIRST_CALL_LOCKS = 11
"""The advisory-lock namespace of first call-ins by phone (PostgreSQL)."""


def ensure_customer(connection: Connection, customer: Customer, serial_no: str | None) -> int:
    """One record per customer: the id of the customer with the call's phone (the first
    recorded), created from the call if there is none; their product, if it has no owner
    yet, becomes theirs. In the caller's transaction; the first call-ins of one phone at once
    take turns on PostgreSQL (SQLite writes one at a time anyway)."""
    phone = customer.phone.strip()
    if connection.dialect.name == "postgresql":
        key = zlib.crc32(phone.encode()) - 2**31
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:ns, :key)"), {"ns": FIRST_CALL_LOCKS, "key": key}
        )
    found = connection.execute(
        core_select(_customers.c.id)
        .where(_customers.c.phone == phone)
        .order_by(_customers.c.id)
        .limit(1)
    ).scalar()
    if found is None:
        now = utcnow()
        found = connection.execute(
            insert(_customers)
            .values(
                name=customer.name,
                phone=phone,
                address=customer.address,
                safety_agreement_required=False,
                email=customer.email,
                created_at=now,
                updated_at=now,
            )
            .returning(_customers.c.id)
        ).scalar_one()
    elif customer.email:  # an address given on the call completes a record without one
        connection.execute(
            update(_customers)
            .where(_customers.c.id == found, _customers.c.email.is_(None))
            .values(email=customer.email, updated_at=utcnow())
        )
    if serial_no:
        connection.execute(
            update(_products)
            .where(_products.c.serial_no == serial_no, _products.c.customer_id.is_(None))
            .values(customer_id=found, updated_at=utcnow())
        )
    return int(found)


def ensure_product(connection: Connection, serial_no: str, model: str) -> int:
    """R2 "an unknown serial creates the product record": the id of the product with
    `serial_no`, created with `model` if there is none. Idempotent and safe to race; an
    existing product is left as it is."""
    now = utcnow()
    values = {
        "serial_no": serial_no,
        "model": model,
        "customer_id": None,
        "warranty_until": None,
        "created_at": now,
        "updated_at": now,
    }
    insert_missing(connection, ProductRecord, values, ["serial_no"])
    product_id = connection.execute(
        core_select(_products.c.id).where(_products.c.serial_no == serial_no)
    ).scalar_one()
    return int(product_id)


# --- the records, through an ORM session (the API) ------------------------------------------


def _apply(record: SQLModel, changes: Mapping[str, Any]) -> None:
    for name, value in changes.items():
        setattr(record, name, value)


def _save(session: Session, record: SQLModel, duplicate: str, field: str) -> None:
    session.add(record)
    try:
        session.commit()
    except IntegrityError as taken:  # taken concurrently since the caller's check
        session.rollback()
        raise field_refused(field, duplicate, CONFLICT) from taken
    session.refresh(record)


def get_customer(session: Session, customer_id: int) -> CustomerRecord:
    customer = session.get(CustomerRecord, customer_id)
    if customer is None:
        raise Refused(NOT_FOUND, f"no customer {customer_id}")
    return customer


def get_product(session: Session, product_id: int) -> ProductRecord:
    product = session.get(ProductRecord, product_id)
    if product is None:
        raise Refused(NOT_FOUND, f"no product {product_id}")
    return product


def get_contract(session: Session, contract_id: int) -> ContractRecord:
    contract = session.get(ContractRecord, contract_id)
    if contract is None:
        raise Refused(NOT_FOUND, f"no contract {contract_id}")
    return contract


def create_customer(session: Session, values: Mapping[str, Any]) -> CustomerRecord:
    """Stores a new customer."""
    customer = CustomerRecord(**values)
    session.add(customer)
    session.commit()
    session.refresh(customer)
    return customer


def update_customer(
    session: Session, customer: CustomerRecord, changes: Mapping[str, Any]
) -> CustomerRecord:
    """Applies `changes` (only the fields the client sent) to `customer`."""
    if changes:
        _apply(customer, {**changes, "updated_at": utcnow()})
        session.add(customer)
        session.commit()
        session.refresh(customer)
    return customer


def find_customers(
    session: Session, *, phone: str | None, name: str | None, limit: int, offset: int
) -> tuple[list[CustomerRecord], int]:
    """A page of customers by exact phone and/or part of the name, and how many match."""
    query = select(CustomerRecord)
    if phone is not None:
        query = query.where(col(CustomerRecord.phone) == phone.strip())
    if name is not None:
        query = query.where(contains(CustomerRecord.name, name.strip()))
    return page(session, query, [col(CustomerRecord.name), col(CustomerRecord.id)], limit, offset)


def customers_by_phone(session: Session, start: str, limit: int) -> list[CustomerRecord]:
    """Customers whose phone begins with `start`: the call-in's lookup as the clerk types."""
    query = select(CustomerRecord).where(
        col(CustomerRecord.phone).startswith(start.strip(), autoescape=True)
    )
    return list(session.exec(query.order_by(col(CustomerRecord.phone)).limit(limit)).all())


def products_by_serial(session: Session, start: str, limit: int) -> list[ProductRecord]:
    """Products whose serial number begins with `start`: the call-in's lookup as the clerk
    types."""
    query = select(ProductRecord).where(
        col(ProductRecord.serial_no).startswith(start.strip(), autoescape=True)
    )
    return list(session.exec(query.order_by(col(ProductRecord.serial_no)).limit(limit)).all())


def customer_products(session: Session, customer_id: int) -> list[ProductRecord]:
    return list(
        session.exec(
            select(ProductRecord)
            .where(col(ProductRecord.customer_id) == customer_id)
            .order_by(col(ProductRecord.id))
        ).all()
    )


def _check_customer(session: Session, customer_id: int | None) -> None:
    if customer_id is not None and session.get(CustomerRecord, customer_id) is None:
        raise field_refused("customer_id", f"no customer {customer_id}")


def _check_serial_free(session: Session, serial_no: str, product_id: int | None) -> None:
    taken = session.exec(
        select(ProductRecord).where(col(ProductRecord.serial_no) == serial_no)
    ).first()
    if taken is not None and taken.id != product_id:
        raise field_refused(
            "serial_no", f"serial number '{serial_no}' is already product {taken.id}", CONFLICT
        )


def create_product(session: Session, values: Mapping[str, Any]) -> ProductRecord:
    """Stores a new product; CONFLICT if its serial number is taken."""
    _check_customer(session, values.get("customer_id"))
    _check_serial_free(session, values["serial_no"], None)
    product = ProductRecord(**values)
    _save(session, product, f"serial number '{product.serial_no}' is taken", "serial_no")
    return product


def update_product(
    session: Session, product: ProductRecord, changes: Mapping[str, Any]
) -> ProductRecord:
    """Applies `changes` to `product`; CONFLICT if the new serial number is taken."""
    if "customer_id" in changes:
        _check_customer(session, changes["customer_id"])
    if "serial_no" in changes:
        _check_serial_free(session, changes["serial_no"], product.id)
    if changes:
        _apply(product, {**changes, "updated_at": utcnow()})
        _save(session, product, f"serial number '{product.serial_no}' is taken", "serial_no")
    return product


def find_products(
    session: Session,
    *,
    serial_no: str | None,
    customer_id: int | None,
    limit: int,
    offset: int,
) -> tuple[list[ProductRecord], int]:
    """A page of products by exact serial number and/or owner, and how many match."""
    query = select(ProductRecord)
    if serial_no is not None:
        query = query.where(col(ProductRecord.serial_no) == serial_no.strip())
    if customer_id is not None:
        query = query.where(col(ProductRecord.customer_id) == customer_id)
    return page(session, query, [col(ProductRecord.id)], limit, offset)


def product_entitlement(session: Session, product: ProductRecord, on: date) -> Entitlement:
    """R2: what a call-in for `product` would get on `on` — the same decision as at call-in."""
    contracts = product_contracts(session, product.id) if product.id is not None else []
    return decide(_product_facts(product), [_contract_facts(c) for c in contracts], on)


def product_contracts(session: Session, product_id: int | None) -> list[ContractRecord]:
    return list(
        session.exec(
            select(ContractRecord)
            .where(col(ContractRecord.product_id) == product_id)
            .order_by(col(ContractRecord.starts_on), col(ContractRecord.number))
        ).all()
    )


def customer_contracts(session: Session, customer_id: int) -> list[ContractRecord]:
    return list(
        session.exec(
            select(ContractRecord)
            .where(col(ContractRecord.customer_id) == customer_id)
            .order_by(col(ContractRecord.starts_on), col(ContractRecord.number))
        ).all()
    )


def _next_contract_number(session: Session, year: int) -> str:
    # Gapless per year, in the caller's transaction; numbers clients chose are skipped.
    while True:
        value = session.connection().execute(NEXT_VALUE, {"name": f"contract:{year}"})
        number = f"MC-{year}-{int(value.scalar_one()):04d}"
        if (
            session.exec(
                select(ContractRecord.id).where(col(ContractRecord.number) == number)
            ).first()
            is None
        ):
            return number


def _check_contract(session: Session, contract: ContractRecord) -> None:
    """A contract's own rules: a real period, and a product of the contract's customer."""
    if contract.ends_on <= contract.starts_on:
        raise field_refused(
            "ends_on",
            f"ends_on ({contract.ends_on}) must be after starts_on ({contract.starts_on})",
        )
    if session.get(CustomerRecord, contract.customer_id) is None:
        raise field_refused("customer_id", f"no customer {contract.customer_id}")
    product = session.get(ProductRecord, contract.product_id)
    if product is None:
        raise field_refused("product_id", f"no product {contract.product_id}")
    if product.customer_id != contract.customer_id:
        owner = f"customer {product.customer_id}" if product.customer_id else "no customer"
        raise field_refused(
            "product_id",
            f"product {product.id} ('{product.serial_no}') belongs to {owner}, "
            f"not customer {contract.customer_id}",
        )


def _check_number_free(session: Session, number: str, contract_id: int | None) -> None:
    taken = session.exec(select(ContractRecord).where(col(ContractRecord.number) == number)).first()
    if taken is not None and taken.id != contract_id:
        raise field_refused(
            "number", f"contract number '{number}' is already contract {taken.id}", CONFLICT
        )


def create_contract(session: Session, values: Mapping[str, Any]) -> ContractRecord:
    """Stores a new contract, numbered MC-<year>-<seq> unless `values` has a number; refused
    for a bad period or a product not of the customer, CONFLICT for a taken number."""
    values = dict(values)
    given = values.pop("number", None)
    contract = ContractRecord(number=given or "", **values)
    _check_contract(session, contract)
    if given:
        _check_number_free(session, given, None)
    else:
        contract.number = _next_contract_number(session, contract.created_at.year)
    _save(session, contract, f"contract number '{contract.number}' is taken", "number")
    return contract


def update_contract(
    session: Session, contract: ContractRecord, changes: Mapping[str, Any]
) -> ContractRecord:
    """Applies `changes` to `contract`, checked like a new one."""
    if not changes:
        return contract
    _apply(contract, {**changes, "updated_at": utcnow()})
    try:
        with session.no_autoflush:  # check before the database sees the changed row
            _check_contract(session, contract)
            if "number" in changes:
                _check_number_free(session, contract.number, contract.id)
    except Refused:
        session.rollback()  # forget the changes made to the loaded record
        raise
    _save(session, contract, f"contract number '{contract.number}' is taken", "number")
    return contract


def find_contracts(
    session: Session,
    *,
    customer_id: int | None,
    product_id: int | None,
    active_on: date | None,
    limit: int,
    offset: int,
) -> tuple[list[ContractRecord], int]:
    """A page of contracts by customer, product and/or the day they must be active on."""
    query = select(ContractRecord)
    if customer_id is not None:
        query = query.where(col(ContractRecord.customer_id) == customer_id)
    if product_id is not None:
        query = query.where(col(ContractRecord.product_id) == product_id)
    if active_on is not None:
        query = query.where(col(ContractRecord.starts_on) <= active_on).where(
            col(ContractRecord.ends_on) >= active_on
        )
    return page(session, query, CONTRACT_ORDER, limit, offset)


CONTRACT_ORDER = (col(ContractRecord.starts_on).desc(), col(ContractRecord.id).desc())
"""The latest start first."""


def contracts_running(
    session: Session, first: date, last: date, limit: int
) -> tuple[list[ContractRecord], int]:
    """The contracts running some day from `first` to `last` — started by `last`, neither
    ended nor terminated before `first` (R31) — the latest start first (up to `limit`), and
    how many there are."""
    query = select(ContractRecord).where(
        col(ContractRecord.starts_on) <= last,
        col(ContractRecord.ends_on) >= first,
        or_(
            col(ContractRecord.terminated_on).is_(None), col(ContractRecord.terminated_on) >= first
        ),
    )
    return page(session, query, CONTRACT_ORDER, limit, 0)


def contact(
    engine: Engine, customer_id: int | None, ticket_id: str | None = None
) -> CustomerRecord | None:
    """The customer's record as their messages need it (issue 14): phone, email, language,
    how they want to hear from us. By its id, else the record `ticket_id` is linked to."""
    with Session(engine) as session:
        if customer_id is None and ticket_id is not None:
            ticket = session.get(TicketRecord, ticket_id)
            customer_id = ticket.customer_id if ticket is not None else None
        return session.get(CustomerRecord, customer_id) if customer_id is not None else None
