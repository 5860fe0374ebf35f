"""A maintenance contract as its workflow keeps it (R31, R32): its terms from the records and
the policy, and the contracts whose workflow is not running yet."""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_
from sqlmodel import Session, col, select

from models.contract import ContractTerms
from models.policy import Policy, billing_terms
from models.refusals import NOT_FOUND, Refused
from models.tables import ContractRecord, CustomerRecord, ProductRecord, TicketRecord
from models.ticket import Customer, Product


def contract_terms(session: Session, policy: Policy, contract: ContractRecord) -> ContractTerms:
    """The contract with its customer and product, the zone's working days over its whole
    period, and its checklist (its own, or the policy's for its type)."""
    customer = session.get(CustomerRecord, contract.customer_id)
    product = session.get(ProductRecord, contract.product_id)
    if customer is None or product is None or contract.id is None or contract.uid is None:
        raise Refused(NOT_FOUND, f"contract {contract.number} lacks its customer or product")
    checklists = policy.contracts.checklists
    checklist = contract.checklist or checklists.get(contract.kind or "default") or []
    zone = policy.zones.get(contract.zone)
    return ContractTerms(
        contract_id=contract.id,
        uid=contract.uid,
        number=contract.number,
        customer=Customer(customer.name, customer.phone, customer.address),
        product=Product(product.model, product.serial_no),
        zone=contract.zone,
        starts_on=contract.starts_on,
        ends_on=contract.ends_on,
        calendar=policy.period_calendar(contract.zone, contract.starts_on, contract.ends_on),
        billing=billing_terms(policy),
        every=contract.every,
        dates=sorted(date.fromisoformat(day) for day in contract.dates),
        checklist=list(checklist),
        free_maintenance_until=contract.free_maintenance_until,
        terminated_on=contract.terminated_on,
        branch=zone.branch if zone else None,
        arrival_hours=contract.arrival_hours or (zone.arrival_hours if zone else None),
        warning_fraction=policy.deadlines.warning_fraction,
        customer_id=customer.id,
    )


def without_workflow(session: Session) -> list[ContractRecord]:
    """Contracts whose workflow was never started (from before contracts had one, or created
    while Temporal was down)."""
    query = (
        select(ContractRecord)
        .where(col(ContractRecord.workflow_started).is_(False))
        .order_by(col(ContractRecord.id))
    )
    return list(session.exec(query))


def mark_started(session: Session, contract: ContractRecord) -> None:
    contract.workflow_started = True
    session.add(contract)
    session.commit()


def inspections(session: Session, uids: list[str]) -> list[TicketRecord]:
    """R32: the inspection jobs of the contracts `uids`, oldest first, with their results."""
    if not uids:
        return []
    prefixes = [col(TicketRecord.id).startswith(f"contract-{uid}-inspection-") for uid in uids]
    query = select(TicketRecord).where(or_(*prefixes)).order_by(col(TicketRecord.created_at))
    return list(session.exec(query))


def of_customer(session: Session, customer_id: int) -> list[str]:
    query = select(ContractRecord.uid).where(col(ContractRecord.customer_id) == customer_id)
    return [uid for uid in session.exec(query) if uid is not None]
