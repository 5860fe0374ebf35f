"""The entitlement check at call-in (R2): which service type a product gets on a day, and why.

Pure: plain dataclasses in, a plain dataclass out, standard library only, so the ticket
workflow can decide inside Temporal's sandbox and the API can show the same answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class ServiceType(StrEnum):
    """R1: every job has one service type."""

    PAID = "paid"
    CONTRACT = "contract"
    WARRANTY = "warranty"
    INTERNAL = "internal"


@dataclass(frozen=True)
class ProductFacts:
    """What the records say about one product (by its serial number)."""

    serial_no: str
    model: str
    warranty_until: date | None = None
    product_id: int | None = None
    customer_id: int | None = None


@dataclass(frozen=True)
class ContractFacts:
    """One maintenance contract on the product; it covers `starts_on` to `ends_on`, both
    days included."""

    number: str
    starts_on: date
    ends_on: date
    covers_labor: bool = True
    covers_parts: bool = False
    arrival_hours: float | None = None
    """R13: the contract's own arrival hours, if it sets them."""

    def active_on(self, on: date) -> bool:
        return self.starts_on <= on <= self.ends_on


@dataclass(frozen=True)
class Entitlement:
    """The decision and its evidence (R2: both are recorded). `covers_labor` and
    `covers_parts` are the contract's terms for `contract`, None otherwise."""

    service_type: ServiceType
    evidence: dict[str, str]
    covers_labor: bool | None = None
    covers_parts: bool | None = None


def decide(
    product: ProductFacts | None, contracts: Sequence[ContractFacts], on: date
) -> Entitlement:
    """R2: an active contract on `on` gives `contract`, else a warranty running through `on`
    gives `warranty`, else `paid`; `product` None means an unknown serial number."""
    active = [c for c in contracts if c.active_on(on)]
    if active:
        # Overlapping contracts: the one that runs longest is the one the customer relies on.
        chosen = max(active, key=lambda c: (c.ends_on, c.starts_on, c.number))
        return Entitlement(
            ServiceType.CONTRACT,
            {
                "contract": chosen.number,
                "starts_on": chosen.starts_on.isoformat(),
                "ends_on": chosen.ends_on.isoformat(),
            },
            covers_labor=chosen.covers_labor,
            covers_parts=chosen.covers_parts,
        )
    if product is None:
        return Entitlement(ServiceType.PAID, {"reason": "unknown serial"})
    if product.warranty_until is not None and on <= product.warranty_until:
        return Entitlement(
            ServiceType.WARRANTY, {"warranty_until": product.warranty_until.isoformat()}
        )
    evidence = {"reason": _why_paid(product, contracts, on)}
    if product.warranty_until is not None:
        evidence["warranty_until"] = product.warranty_until.isoformat()
    return Entitlement(ServiceType.PAID, evidence)


def _why_paid(product: ProductFacts, contracts: Sequence[ContractFacts], on: date) -> str:
    reasons = []
    if product.warranty_until is None:
        reasons.append("no warranty on record")
    else:
        reasons.append(f"warranty expired after {product.warranty_until.isoformat()}")
    for contract in sorted(contracts, key=lambda c: (c.starts_on, c.number)):
        if contract.ends_on < on:
            reasons.append(
                f"contract {contract.number} expired after {contract.ends_on.isoformat()}"
            )
        else:
            reasons.append(f"contract {contract.number} starts on {contract.starts_on.isoformat()}")
    if not contracts:
        reasons.append("no maintenance contract")
    return "; ".join(reasons)
