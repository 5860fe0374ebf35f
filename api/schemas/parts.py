"""API schemas for the parts store (R19): the price list, receipts, movements and imports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from api.schemas.base import Patch, Request
from models.price_list import PriceListEntry
from models.tables import PartRecord, StockMovementRecord
from models.values import MoneyIn, MoneyOut, ShortText, Text
from store.parts import MovementKind

MAX_RECEIPT = 100_000
"""The most of one part a single receipt takes in."""


class PartCreate(PriceListEntry):
    """A new part of the price list: the same fields and rules as a row of an import."""


class PartUpdate(Patch):
    """The name, the prices, or `active` (false: discontinued, off the price list); the stock
    changes only by receipts and tickets' movements."""

    name: ShortText | None = None
    unit_cost: MoneyIn | None = None
    list_price: MoneyIn | None = None
    active: bool | None = None


class ReceiptBody(Request):
    qty: Annotated[int, Field(ge=1, le=MAX_RECEIPT)]
    note: Text | None = None
    """Where it came from: the supplier, the delivery note."""


class PartPublic(BaseModel):
    part_no: str
    name: str
    unit_cost: MoneyOut
    list_price: MoneyOut
    stock_on_hand: int
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_record(cls, row: PartRecord) -> PartPublic:
        return cls.model_validate(row, from_attributes=True)


class MovementPublic(BaseModel):
    """One change of a part's stock; `qty` is signed: into the store positive, out negative.
    A ticket's movements name it; prices are the part's when it moved."""

    id: int
    part_no: str
    kind: MovementKind
    qty: int
    ticket_id: str | None
    unit_cost: MoneyOut
    list_price: MoneyOut
    actor: str
    note: str | None
    at: datetime

    @classmethod
    def from_record(cls, row: StockMovementRecord) -> MovementPublic:
        return cls.model_validate(row, from_attributes=True)


class ImportResult(BaseModel):
    created: int
    """Parts the file added to the price list."""
    updated: int
    """Listed parts whose name or prices the file changed."""
