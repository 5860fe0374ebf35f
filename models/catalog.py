"""Customers, their products and maintenance contracts: the records the entitlement check
reads at call-in (R2), and the plain functions that keep them.

`facts_for_serial` and `ensure_product` work on a SQLAlchemy Connection inside the caller's
transaction (the ticket registration activity); the rest take an ORM Session (the API).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column, text
from sqlalchemy import select as core_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from models.db import page
from models.entitlement import ContractFacts, Entitlement, ProductFacts, decide
from models.tables import UTCDateTime, utcnow


def _stamp() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Customer(SQLModel, table=True):
    __tablename__ = "customers"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    phone: str = Field(max_length=64, index=True)
    address: str
    created_at: datetime = _stamp()
    updated_at: datetime = _stamp()


class Product(SQLModel, table=True):
    """One serial-numbered product; `warranty_until` is the last day of the free warranty."""

    __tablename__ = "products"

    id: int | None = Field(default=None, primary_key=True)
    serial_no: str = Field(max_length=200, unique=True)
    model: str = Field(max_length=200)
    customer_id: int | None = Field(default=None, foreign_key="customers.id", index=True)
    warranty_until: date | None = None
    created_at: datetime = _stamp()
    updated_at: datetime = _stamp()


class Contract(SQLModel, table=True):
    """A maintenance contract on one product of one customer, `starts_on` to `ends_on`
    inclusive."""

    __tablename__ = "contracts"
    __table_args__ = (CheckConstraint("ends_on > starts_on", name="ck_contracts_period"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    product_id: int = Field(foreign_key="products.id", index=True)
    starts_on: date
    ends_on: date
    covers_labor: bool = True
    covers_parts: bool = False
    notes: str | None = None
    created_at: datetime = _stamp()
    updated_at: datetime = _stamp()


# --- the entitlement check's reads, on the caller's connection (R2) --------------------------

_products = Product.__table__  # type: ignore[attr-defined]
_contracts = Contract.__table__  # type: ignore[attr-defined]


def _contract_facts(row: Any) -> ContractFacts:
    return ContractFacts(
        number=row.number,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        covers_labor=row.covers_labor,
        covers_parts=row.covers_parts,
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
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    connection.execute(
        dialect.insert(_products)
        .values(values)
        .on_conflict_do_nothing(index_elements=["serial_no"])
    )
    product_id = connection.execute(
        core_select(_products.c.id).where(_products.c.serial_no == serial_no)
    ).scalar_one()
    return int(product_id)


# --- the records, through an ORM session (the API) ------------------------------------------


class CatalogError(Exception):
    """A change the records refuse; `field` names the request field at fault, if any."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(CatalogError):
    """The record asked for is not there."""


class Duplicate(CatalogError):
    """A serial number or contract number that is already taken."""


class Invalid(CatalogError):
    """A request the records cannot accept: a missing reference or an impossible value."""


def _apply(record: SQLModel, changes: Mapping[str, Any]) -> None:
    for name, value in changes.items():
        setattr(record, name, value)


def _save(session: Session, record: SQLModel, duplicate: str, field: str) -> None:
    session.add(record)
    try:
        session.commit()
    except IntegrityError as taken:  # taken concurrently since the caller's check
        session.rollback()
        raise Duplicate(duplicate, field) from taken
    session.refresh(record)


def get_customer(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"no customer {customer_id}")
    return customer


def get_product(session: Session, product_id: int) -> Product:
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound(f"no product {product_id}")
    return product


def get_contract(session: Session, contract_id: int) -> Contract:
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise NotFound(f"no contract {contract_id}")
    return contract


def create_customer(session: Session, values: Mapping[str, Any]) -> Customer:
    """Stores a new customer."""
    customer = Customer(**values)
    session.add(customer)
    session.commit()
    session.refresh(customer)
    return customer


def update_customer(session: Session, customer: Customer, changes: Mapping[str, Any]) -> Customer:
    """Applies `changes` (only the fields the client sent) to `customer`."""
    if changes:
        _apply(customer, {**changes, "updated_at": utcnow()})
        session.add(customer)
        session.commit()
        session.refresh(customer)
    return customer


def find_customers(
    session: Session, *, phone: str | None, name: str | None, limit: int, offset: int
) -> tuple[list[Customer], int]:
    """A page of customers by exact phone and/or part of the name, and how many match."""
    query = select(Customer)
    if phone is not None:
        query = query.where(col(Customer.phone) == phone.strip())
    if name is not None:
        query = query.where(col(Customer.name).ilike(f"%{_like_escaped(name.strip())}%", "\\"))
    return page(session, query, [col(Customer.name), col(Customer.id)], limit, offset)


def _like_escaped(fragment: str) -> str:
    return fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def customer_products(session: Session, customer_id: int) -> list[Product]:
    return list(
        session.exec(
            select(Product).where(col(Product.customer_id) == customer_id).order_by(col(Product.id))
        ).all()
    )


def _check_customer(session: Session, customer_id: int | None) -> None:
    if customer_id is not None and session.get(Customer, customer_id) is None:
        raise Invalid(f"no customer {customer_id}", "customer_id")


def _check_serial_free(session: Session, serial_no: str, product_id: int | None) -> None:
    taken = session.exec(select(Product).where(col(Product.serial_no) == serial_no)).first()
    if taken is not None and taken.id != product_id:
        raise Duplicate(f"serial number '{serial_no}' is already product {taken.id}", "serial_no")


def create_product(session: Session, values: Mapping[str, Any]) -> Product:
    """Stores a new product; Duplicate if its serial number is taken."""
    _check_customer(session, values.get("customer_id"))
    _check_serial_free(session, values["serial_no"], None)
    product = Product(**values)
    _save(session, product, f"serial number '{product.serial_no}' is taken", "serial_no")
    return product


def update_product(session: Session, product: Product, changes: Mapping[str, Any]) -> Product:
    """Applies `changes` to `product`; Duplicate if the new serial number is taken."""
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
) -> tuple[list[Product], int]:
    """A page of products by exact serial number and/or owner, and how many match."""
    query = select(Product)
    if serial_no is not None:
        query = query.where(col(Product.serial_no) == serial_no.strip())
    if customer_id is not None:
        query = query.where(col(Product.customer_id) == customer_id)
    return page(session, query, [col(Product.id)], limit, offset)


def product_entitlement(session: Session, product: Product, on: date) -> Entitlement:
    """R2: what a call-in for `product` would get on `on` — the same decision as at call-in."""
    contracts = product_contracts(session, product.id) if product.id is not None else []
    return decide(_product_facts(product), [_contract_facts(c) for c in contracts], on)


def product_contracts(session: Session, product_id: int | None) -> list[Contract]:
    return list(
        session.exec(
            select(Contract)
            .where(col(Contract.product_id) == product_id)
            .order_by(col(Contract.starts_on), col(Contract.number))
        ).all()
    )


def customer_contracts(session: Session, customer_id: int) -> list[Contract]:
    return list(
        session.exec(
            select(Contract)
            .where(col(Contract.customer_id) == customer_id)
            .order_by(col(Contract.starts_on), col(Contract.number))
        ).all()
    )


NEXT_VALUE = text(
    "INSERT INTO counters (name, value) VALUES (:name, 1) "
    "ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value"
)


def _next_contract_number(session: Session, year: int) -> str:
    # Gapless per year, in the caller's transaction; numbers clients chose are skipped.
    while True:
        value = session.connection().execute(NEXT_VALUE, {"name": f"contract:{year}"})
        number = f"MC-{year}-{int(value.scalar_one()):04d}"
        if session.exec(select(Contract.id).where(col(Contract.number) == number)).first() is None:
            return number


def _check_contract(session: Session, contract: Contract) -> None:
    """A contract's own rules: a real period, and a product of the contract's customer."""
    if contract.ends_on <= contract.starts_on:
        raise Invalid(
            f"ends_on ({contract.ends_on}) must be after starts_on ({contract.starts_on})",
            "ends_on",
        )
    if session.get(Customer, contract.customer_id) is None:
        raise Invalid(f"no customer {contract.customer_id}", "customer_id")
    product = session.get(Product, contract.product_id)
    if product is None:
        raise Invalid(f"no product {contract.product_id}", "product_id")
    if product.customer_id != contract.customer_id:
        owner = f"customer {product.customer_id}" if product.customer_id else "no customer"
        raise Invalid(
            f"product {product.id} ('{product.serial_no}') belongs to {owner}, "
            f"not customer {contract.customer_id}",
            "product_id",
        )


def _check_number_free(session: Session, number: str, contract_id: int | None) -> None:
    taken = session.exec(select(Contract).where(col(Contract.number) == number)).first()
    if taken is not None and taken.id != contract_id:
        raise Duplicate(f"contract number '{number}' is already contract {taken.id}", "number")


def create_contract(session: Session, values: Mapping[str, Any]) -> Contract:
    """Stores a new contract, numbered MC-<year>-<seq> unless `values` has a number; Invalid
    for a bad period or a product not of the customer, Duplicate for a taken number."""
    values = dict(values)
    given = values.pop("number", None)
    contract = Contract(number=given or "", **values)
    _check_contract(session, contract)
    if given:
        _check_number_free(session, given, None)
    else:
        contract.number = _next_contract_number(session, contract.created_at.year)
    _save(session, contract, f"contract number '{contract.number}' is taken", "number")
    return contract


def update_contract(session: Session, contract: Contract, changes: Mapping[str, Any]) -> Contract:
    """Applies `changes` to `contract`, checked like a new one."""
    if not changes:
        return contract
    _apply(contract, {**changes, "updated_at": utcnow()})
    try:
        with session.no_autoflush:  # check before the database sees the changed row
            _check_contract(session, contract)
            if "number" in changes:
                _check_number_free(session, contract.number, contract.id)
    except CatalogError:
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
) -> tuple[list[Contract], int]:
    """A page of contracts by customer, product and/or the day they must be active on."""
    query = select(Contract)
    if customer_id is not None:
        query = query.where(col(Contract.customer_id) == customer_id)
    if product_id is not None:
        query = query.where(col(Contract.product_id) == product_id)
    if active_on is not None:
        query = query.where(col(Contract.starts_on) <= active_on).where(
            col(Contract.ends_on) >= active_on
        )
    order = [col(Contract.starts_on).desc(), col(Contract.id).desc()]
    return page(session, query, order, limit, offset)
