"""A ticket's work order (R17–R21): the quotation the customer accepts, the parts issued
against it and returned, the discount, the responsibility for a defect under warranty, a
deposit on a warranty claim, the approvals asked for, and an invoice held for one.

The workflow keeps one per ticket called in with the approval terms (`TicketStart.
approval_terms`); the arithmetic lives here, pure, so the update validators can refuse before
anything happens. Safe in the workflow sandbox.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from models.approvals import Approval, ApprovalKind, ApprovalTerms
from models.parts import PartLine, PricedPart, quantities
from models.pricing import labour_fee, money
from models.worktime import local

MAX_APPROVALS = 30
"""Approvals one ticket may ask for: past them something is wrong with the job."""
MAX_STOCK_MOVES = 60
"""Issues and returns on one ticket (each up to `models.actions.MAX_PARTS` lines)."""


class Party(StrEnum):
    """R20: who is responsible for a defect under warranty, and so who pays."""

    COMPANY = "company"
    CUSTOMER = "customer"
    SHARED = "shared"


@dataclass
class Quotation:
    """R19: labour estimate plus parts at list price, which the customer accepts (signature)
    before a workshop repair starts; approved added parts update it."""

    labor_minutes: int
    labour: Decimal
    parts: list[PricedPart]
    amount: Decimal
    quoted_by: str
    quoted_at: datetime
    note: str | None = None
    accepted_at: datetime | None = None
    declined_at: datetime | None = None
    signature: str | None = None
    decline_reason: str | None = None

    @property
    def status(self) -> str:
        if self.declined_at is not None:
            return "declined"
        return "accepted" if self.accepted_at is not None else "offered"


@dataclass
class Discount:
    """R17: a percentage off the invoice with its reason; `granted` within the advisor's
    authority or by approval, `pending` while the approval waits, `rejected`, or `withdrawn`
    when the director refused the margin it left (R18)."""

    percent: Decimal
    reason: str
    requested_by: str
    requested_at: datetime
    status: str
    approval_id: str | None = None
    granted_by: str | None = None


@dataclass
class Responsibility:
    """R20: the decision on a defect under warranty: the customer pays `customer_share` of
    what a paid job would cost (0 for the company, 1 for the customer)."""

    party: str
    customer_share: Decimal
    reason: str
    decided_by: str
    decided_at: datetime


@dataclass
class Deposit:
    """R19: taken on a warranty claim, refunded when the claimed parts are fitted (issued)."""

    amount: Decimal
    method: str
    taken_by: str
    taken_at: datetime
    refunded_at: datetime | None = None
    refund_reason: str | None = None


@dataclass
class HeldInvoice:
    """R18: an invoice waiting for the director's approval of its low margin."""

    approval_id: str
    lines: list[dict[str, Any]]
    amount: Decimal
    """At list price, before the discount."""


@dataclass
class WorkOrder:
    terms: ApprovalTerms
    quotation: Quotation | None = None
    issued: list[PricedPart] = field(default_factory=list)
    returned: list[PricedPart] = field(default_factory=list)
    signed_off: list[PartLine] = field(default_factory=list)
    """Parts approved beyond the quotation (R19) or claimed under warranty."""
    used_on_site: list[dict[str, Any]] = field(default_factory=list)
    """The parts an on-site repair used (a workshop repair's are on its repair card)."""
    discount: Discount | None = None
    responsibility: Responsibility | None = None
    deposit: Deposit | None = None
    approvals: list[Approval] = field(default_factory=list)
    held_invoice: HeldInvoice | None = None
    moves: int = 0
    """Stock movements asked for so far: each one's idempotency key is its number."""

    def approval(self, approval_id: str) -> Approval:
        return next(a for a in self.approvals if a.id == approval_id)

    def pending(self) -> list[Approval]:
        return [approval for approval in self.approvals if approval.pending]

    def granted_discount(self) -> Discount | None:
        discount = self.discount
        return discount if discount is not None and discount.status == "granted" else None

    def out(self) -> dict[str, int]:
        """Parts issued to the ticket and not returned, by part number."""
        issued, returned = quantities(self.issued), quantities(self.returned)
        return {no: qty - returned.get(no, 0) for no, qty in issued.items()}

    def unused(self, used: dict[str, int]) -> dict[str, int]:
        """Parts out of the store and not (yet) used in the repair: what may go back (R19)."""
        left = {no: qty - used.get(no, 0) for no, qty in self.out().items()}
        return {no: qty for no, qty in left.items() if qty > 0}

    def parts_cost(self) -> Decimal:
        """What the parts issued and not returned cost the company (R18)."""
        issued = sum((p.cost for p in self.issued), Decimal(0))
        return money(issued - sum((p.cost for p in self.returned), Decimal(0)))

    def list_price(self, part_no: str) -> Decimal | None:
        """The list price the part was last issued (or quoted) at on this ticket."""
        quoted = self.quotation.parts if self.quotation else []
        for part in reversed([*quoted, *self.issued]):
            if part.part_no == part_no:
                return part.list_price
        return None

    def sign_off_needed(self, service_type: str, lines: list[PartLine]) -> ApprovalKind | None:
        """R19: the approval issuing `lines` waits for, if any: parts beyond the accepted
        quotation, or a claim on the manufacturer's warranty."""
        if not self.beyond_allowance(service_type, lines):
            return None
        if service_type == "warranty":
            return ApprovalKind.WARRANTY_CLAIM
        return ApprovalKind.ADDED_PARTS

    def beyond_allowance(self, service_type: str, lines: list[PartLine]) -> list[PartLine] | None:
        """The part of `lines` not yet signed off; None when this ticket's parts need no
        sign-off (on-site and contract work, a customer-paid warranty defect)."""
        allowed = quantities(self.signed_off)
        if not self.warranty_claims(service_type):
            quotation = self.quotation
            if quotation is None or quotation.accepted_at is None:
                return None
            for part_no, qty in quantities(quotation.parts).items():
                allowed[part_no] = allowed.get(part_no, 0) + qty
        for part_no, qty in self.out().items():
            allowed[part_no] = allowed.get(part_no, 0) - qty
        beyond = []
        for part_no, qty in quantities(lines).items():
            extra = qty - max(allowed.get(part_no, 0), 0)
            if extra > 0:
                beyond.append(PartLine(part_no, extra))
        return beyond

    def quotation_required(self, service_type: str) -> bool:
        """R19: whether a workshop repair of this service type waits for an accepted
        quotation."""
        return service_type in self.terms.quotation_for

    def warranty_claims(self, service_type: str) -> bool:
        """Whether parts for this job are claimed under the warranty (R19, R20)."""
        responsibility = self.responsibility
        return service_type == "warranty" and (
            responsibility is None or responsibility.party != Party.CUSTOMER
        )

    def summary(self, service_type: str) -> dict[str, Any]:
        """The work order as the ticket shows it (the read model's `work_order`)."""
        quotation = self.quotation
        return {
            "quotation": asdict(quotation) | {"status": quotation.status} if quotation else None,
            "quotation_required": self.quotation_required(service_type),
            "parts_issued": [asdict(part) for part in self.issued],
            "parts_returned": [asdict(part) for part in self.returned],
            "parts_signed_off": [asdict(line) for line in self.signed_off],
            "discount": asdict(self.discount) if self.discount else None,
            "responsibility": asdict(self.responsibility) if self.responsibility else None,
            "deposit": asdict(self.deposit) if self.deposit else None,
            "invoice_waiting_for": self.held_invoice.approval_id if self.held_invoice else None,
            "warranty_claims": self.warranty_claims(service_type),
        }


@dataclass
class DiscountCount:
    """R17: counts one discount against the advisor's week, if the week has room; `key` (the
    ticket's step) counts it once however often it is asked."""

    advisor: str
    week: date
    limit: int
    key: str
    at: datetime


@dataclass
class InvoicePlan:
    """R17, R18, R21: what a job is invoiced at: its amount at list price, minus the granted
    discount, and the gross margin that leaves."""

    amount: Decimal
    discount: Decimal
    price: Decimal
    cost: Decimal
    margin: Decimal | None
    below_margin: bool

    def lines(self, order: WorkOrder) -> list[dict[str, Any]]:
        """R21: the discount's invoice line, with its percent and reason (none without)."""
        granted = order.granted_discount()
        if granted is None or not self.discount:
            return []
        return [
            {
                "description": f"discount {granted.percent}%: {granted.reason}",
                "amount": str(-self.discount),
            }
        ]


MARGIN_CHECKED = frozenset({"paid"})
"""R18 is about the price of a general repair: warranty and contract work is priced by their
own terms (R20, R21), whatever it costs the company."""


def invoice_plan(
    order: WorkOrder, amount: Decimal, labor_minutes: int, service_type: str
) -> InvoicePlan:
    """R17, R18: the job's invoice: `amount` (at list price) minus the granted discount; its
    cost is the parts issued (not returned) and `labor_minutes` at the labour cost; a general
    repair below the minimum margin waits for the director."""
    granted = order.granted_discount()
    discount = discount_off(amount, granted.percent) if granted else Decimal("0.00")
    price = money(amount - discount)
    cost = money(order.parts_cost() + labour_cost(labor_minutes, order.terms))
    margin = gross_margin(price, cost)
    below = (
        service_type in MARGIN_CHECKED
        and margin is not None
        and margin < order.terms.min_gross_margin
    )
    return InvoicePlan(money(amount), discount, price, cost, margin, below)


def labour_cost(labor_minutes: int, terms: ApprovalTerms) -> Decimal:
    """R18: what the labour costs the company, at the policy's cost per hour."""
    return labour_fee(labor_minutes, terms.labour_cost_per_hour)


def gross_margin(price: Decimal, cost: Decimal) -> Decimal | None:
    """R18: (price - cost) / price, None for a job that costs the customer nothing."""
    if price <= 0:
        return None
    return ((price - cost) / price).quantize(Decimal("0.0001"))


def discount_off(amount: Decimal, percent: Decimal) -> Decimal:
    """R17, R21: the money a discount takes off `amount`."""
    return money(amount * percent / 100)


def customer_part(fee: Decimal, responsibility: Responsibility | None) -> Decimal:
    """R20: the customer's share of what a paid job would cost."""
    share = responsibility.customer_share if responsibility else Decimal(0)
    return money(fee * share)


def office_week(at: datetime, timezone: str) -> date:
    """R17: the Monday of the office week `at` falls in, in the office's time zone."""
    day = local(at, timezone).date()
    return day - timedelta(days=day.weekday())
