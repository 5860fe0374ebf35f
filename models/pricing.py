"""Fees (R6, R21): labour at the policy's hourly rate plus parts, in two-place decimals, as the
job's service type says (R1): warranty and internal work are free, a contract covers what its
terms cover."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
FREE_SERVICE_TYPES = frozenset({"warranty", "internal"})


def money(value: Decimal | str | int) -> Decimal:
    """A decimal rounded half-up to cents."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def labour_fee(labor_minutes: int, hourly_rate: Decimal) -> Decimal:
    """Labour at `hourly_rate`, rounded to cents."""
    return money(Decimal(labor_minutes) * hourly_rate / 60)


def parts_fee(parts: Iterable[Mapping[str, Any]]) -> Decimal:
    """The sum of quantity × unit price over `parts`."""
    return money(sum((Decimal(str(p["unit_price"])) * int(p["qty"]) for p in parts), Decimal(0)))


def job_fee(
    labor_minutes: int,
    parts: Iterable[Mapping[str, Any]],
    hourly_rate: Decimal,
    service_type: str,
    *,
    covers_labor: bool = False,
    covers_parts: bool = False,
) -> Decimal:
    """What the customer owes for one job or repair round (R21)."""
    if service_type in FREE_SERVICE_TYPES:
        return money(0)
    contract = service_type == "contract"
    labour = money(0) if contract and covers_labor else labour_fee(labor_minutes, hourly_rate)
    materials = money(0) if contract and covers_parts else parts_fee(parts)
    return money(labour + materials)


def amount_refusal(
    labor_minutes: int,
    parts: Iterable[Mapping[str, Any]],
    hourly_rate: Decimal,
    *,
    max_line: Decimal,
    max_ticket: Decimal,
    ticket_total: Decimal,
) -> tuple[str, str] | None:
    """(field, why) for the first amount above the policy's limits (R21), or None: labour and
    each part line at most `max_line`, the ticket's chargeable total at most `max_ticket`."""
    labour = labour_fee(labor_minutes, hourly_rate)
    if labour > max_line:
        return "labor_minutes", f"labour of {labour} is more than the {max_line} one line may cost"
    for position, part in enumerate(parts):
        line = money(Decimal(str(part["unit_price"])) * int(part["qty"]))
        if line > max_line:
            return (
                f"parts.{position}",
                f"part {part['part_no']}: {part['qty']} × {part['unit_price']} = {line} is more "
                f"than the {max_line} one line may cost",
            )
    if ticket_total > max_ticket:
        return (
            "parts",
            f"the ticket would cost {ticket_total}, more than the {max_ticket} one ticket may cost",
        )
    return None
