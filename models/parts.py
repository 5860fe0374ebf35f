"""Parts as a ticket's work order moves them (R19): what is asked of the store, and what the
store answers with — each part at its unit cost and list price of the moment. Pure: safe in
the workflow sandbox."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass
class PartLine:
    """A quantity of one part, as a step asks for it."""

    part_no: str
    qty: int


@dataclass
class PricedPart:
    """A quantity of one part with the store's name, unit cost and list price when it moved
    (or was quoted)."""

    part_no: str
    name: str
    qty: int
    unit_cost: Decimal
    list_price: Decimal

    @property
    def list_value(self) -> Decimal:
        return self.list_price * self.qty

    @property
    def cost(self) -> Decimal:
        return self.unit_cost * self.qty


@dataclass
class StockRequest:
    """Parts out of the store against a ticket (issue) or back into it (return). `key` makes
    the movement idempotent: a retried request with the same key moves nothing twice."""

    ticket_id: str
    ticket_number: str
    key: str
    lines: list[PartLine]
    actor: str
    at: datetime


def quantities(lines: Iterable[PartLine | PricedPart | dict[str, object]]) -> dict[str, int]:
    """The total quantity of each part number over `lines`."""
    totals: dict[str, int] = {}
    for line in lines:
        if isinstance(line, dict):
            part_no, qty = str(line["part_no"]), int(str(line["qty"]))
        else:
            part_no, qty = line.part_no, line.qty
        totals[part_no] = totals.get(part_no, 0) + qty
    return totals


def merged(lines: Iterable[PartLine]) -> list[PartLine]:
    """`lines` with each part number once, quantities added, in first-seen order."""
    return [PartLine(part_no, qty) for part_no, qty in quantities(lines).items()]


def part_data(parts: Iterable[PricedPart]) -> list[dict[str, object]]:
    """`parts` as a timeline entry or an approval's details keep them (money as text)."""
    return [
        {
            "part_no": part.part_no,
            "name": part.name,
            "qty": part.qty,
            "unit_cost": str(part.unit_cost),
            "list_price": str(part.list_price),
        }
        for part in parts
    ]


def from_data(parts: Iterable[dict[str, object]]) -> list[PricedPart]:
    """The parts `part_data` wrote."""
    return [
        PricedPart(
            str(part["part_no"]),
            str(part["name"]),
            int(str(part["qty"])),
            Decimal(str(part["unit_cost"])),
            Decimal(str(part["list_price"])),
        )
        for part in parts
    ]
