"""Who may be sent where (R33, R34): customers' safety agreements, technicians' certificates,
and the dispatch gates read from them (the rules are models/dispatch_gates.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar, cast

from sqlalchemy import func
from sqlmodel import Session, SQLModel, col, select

from models.dispatch_gates import Validity, qualification_refusal, safety_refusal, valid_on
from models.refusals import NOT_FOUND, Refused
from models.tables import (
    CertificateRecord,
    CustomerRecord,
    ProductRecord,
    SafetyAgreementRecord,
    TicketRecord,
    User,
)
from store.users import technician, users_by_name

Row = TypeVar("Row", bound=SQLModel)
FIELD_WORK = ("dispatched", "on_site")
"""A technician with a ticket in these is out on a job (not `available`)."""


def _agreement(row: SafetyAgreementRecord) -> Validity:
    return Validity(row.valid_until, row.document_ref)


def _certificate(row: CertificateRecord) -> Validity:
    return Validity(row.valid_until, row.number)


def agreements(session: Session, customer_id: int) -> list[SafetyAgreementRecord]:
    """R33: the customer's safety agreements, the longest-valid first."""
    query = (
        select(SafetyAgreementRecord)
        .where(col(SafetyAgreementRecord.customer_id) == customer_id)
        .order_by(col(SafetyAgreementRecord.valid_until).desc(), col(SafetyAgreementRecord.id))
    )
    return list(session.exec(query))


def add_agreement(
    session: Session, customer_id: int, values: Mapping[str, Any], actor: str
) -> SafetyAgreementRecord:
    if session.get(CustomerRecord, customer_id) is None:
        raise Refused(NOT_FOUND, f"no customer {customer_id}")
    return _saved(
        session, SafetyAgreementRecord(customer_id=customer_id, recorded_by=actor, **values)
    )


def certificates(session: Session, usernames: Iterable[str]) -> dict[str, list[CertificateRecord]]:
    """R34: each technician's certificates, the longest-valid first."""
    names = list(usernames)
    found: dict[str, list[CertificateRecord]] = {name: [] for name in names}
    query = (
        select(CertificateRecord)
        .where(col(CertificateRecord.username).in_(names))
        .order_by(col(CertificateRecord.valid_until).desc(), col(CertificateRecord.id))
    )
    for row in session.exec(query):
        found[row.username].append(row)
    return found


def add_certificate(
    session: Session, username: str, values: Mapping[str, Any], actor: str
) -> CertificateRecord:
    if technician(session, username) is None:
        raise Refused(NOT_FOUND, f"no technician '{username}'")
    return _saved(session, CertificateRecord(username=username, recorded_by=actor, **values))


def _saved(session: Session, row: Row) -> Row:
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


@dataclass
class TechnicianCard:
    """A technician as the dispatcher chooses among them."""

    user: User
    certificates: list[CertificateRecord] = field(default_factory=list)
    open_jobs: int = 0
    in_the_field: int = 0


def technicians(
    session: Session, qualified_for: str | None, available: bool | None, day: date
) -> list[TechnicianCard]:
    """Active technicians with their certificates and open jobs; `qualified_for`: only those
    with a valid certificate for that category on `day`; `available`: only those out on no
    job (true) or only those out on one (false)."""
    users = [user for user in users_by_name(session, "technician") if user.active]
    held = certificates(session, [user.username for user in users])
    jobs = _open_jobs(session, [user.username for user in users])
    cards = []
    for user in users:
        mine = held[user.username]
        if qualified_for is not None:
            relevant = [_certificate(row) for row in mine if row.category == qualified_for]
            if valid_on(relevant, day) is None:
                continue
        open_jobs, in_the_field = jobs.get(user.username, (0, 0))
        if available is not None and available != (in_the_field == 0):
            continue
        cards.append(TechnicianCard(user, mine, open_jobs, in_the_field))
    return cards


def _open_jobs(session: Session, usernames: list[str]) -> dict[str, tuple[int, int]]:
    """Per technician: unresolved tickets assigned to them, and how many of those are field
    work (dispatched or on site)."""
    unresolved = ("dispatched", "on_site", "carried_in", "repaired", "ready_for_return")
    query = (
        select(TicketRecord.technician, TicketRecord.status, func.count())
        .where(col(TicketRecord.technician).in_(usernames))
        .where(col(TicketRecord.status).in_(unresolved))
        .group_by(col(TicketRecord.technician), col(TicketRecord.status))
    )
    counts: dict[str, tuple[int, int]] = {}
    for assigned, status, count in session.exec(query):
        username = cast(str, assigned)  # the query's `in_` leaves no ticket without one
        total, field_work = counts.get(username, (0, 0))
        counts[username] = (total + count, field_work + (count if status in FIELD_WORK else 0))
    return counts


@dataclass
class Site:
    """What dispatching to a ticket's product depends on (R33, R34)."""

    safety_agreement_required: bool = False
    agreements: list[Validity] = field(default_factory=list)
    category: str | None = None


def site_of(session: Session, serial_no: str | None) -> Site:
    """The site of the product with `serial_no` (its owner's), as far as records say."""
    if serial_no is None:
        return Site()
    product = session.exec(
        select(ProductRecord).where(col(ProductRecord.serial_no) == serial_no)
    ).first()
    if product is None:
        return Site()
    customer = session.get(CustomerRecord, product.customer_id) if product.customer_id else None
    if customer is None:
        return Site(category=product.category)
    signed = [_agreement(row) for row in agreements(session, customer.id or 0)]
    return Site(customer.safety_agreement_required, signed, product.category)


def requirements(site: Site, required_for: Iterable[str], day: date) -> dict[str, Any]:
    """What a dispatcher sees on the ticket before dispatching it."""
    valid = valid_on(site.agreements, day)
    needed = site.category if site.category in set(required_for) else None
    return {
        "safety_agreement_required": site.safety_agreement_required,
        "safety_agreement_valid_until": valid.valid_until if valid else None,
        "dispatch_blocked": safety_refusal(site.safety_agreement_required, site.agreements, day),
        "certificate_required": needed,
    }


def dispatch_refusal(
    session: Session, serial_no: str | None, to: str, required_for: Iterable[str], day: date
) -> str | None:
    """Why a ticket on the product `serial_no` may not be dispatched to `to` on `day`."""
    site = site_of(session, serial_no)
    unsafe = safety_refusal(site.safety_agreement_required, site.agreements, day)
    if unsafe is not None:
        return unsafe
    held = [
        _certificate(row)
        for row in certificates(session, [to])[to]
        if row.category == site.category
    ]
    return qualification_refusal(site.category, required_for, to, held, day)
