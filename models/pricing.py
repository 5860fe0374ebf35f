"""Fees (R6, R21): labour at the policy's hourly rate plus parts, in two-place decimals."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")


def money(value: Decimal | str | int) -> Decimal:
    """A decimal rounded half-up to cents."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def job_fee(
    labor_minutes: int, parts: Iterable[Mapping[str, Any]], hourly_rate: Decimal, service_type: str
) -> Decimal:
    """What the customer owes for one job: nothing for warranty and internal work (R1, R21)."""
    if service_type in ("warranty", "internal", "contract"):
        return money(0)
    labour = Decimal(labor_minutes) * hourly_rate / 60
    materials = sum((Decimal(str(p["unit_price"])) * int(p["qty"]) for p in parts), Decimal(0))
    return money(labour + materials)
