"""The workshop's papers (R7, R8) and the money (R21) as clients read them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from models.values import MoneyOut


class ProductReceiptPublic(BaseModel):
    number: str
    issued_at: datetime
    promised_by: datetime
    voided_at: datetime | None


class RepairRoundPublic(BaseModel):
    round: int
    labor_minutes: int
    parts: list[dict[str, Any]]
    notes: str
    fee: MoneyOut
    recorded_by: str
    recorded_at: datetime
    inspection_passed: bool | None
    inspection_notes: str | None
    inspected_by: str | None
    inspected_at: datetime | None


class RepairCardPublic(BaseModel):
    """R7, R8: what is attached to a carried-in product."""

    ticket_id: str
    ticket_number: str
    product_model: str
    product_serial_no: str | None
    receipt: ProductReceiptPublic | None
    rounds: list[RepairRoundPublic]


class RegisterLinePublic(BaseModel):
    """R7, R8: one line of the product in/out register."""

    ticket_id: str
    ticket_number: str
    receipt_number: str
    customer_name: str
    product_model: str
    product_serial_no: str | None
    checked_in_at: datetime
    checked_out_at: datetime | None


class InvoicePublic(BaseModel):
    number: str
    ticket_id: str
    amount: MoneyOut
    lines: list[dict[str, Any]]
    issued_at: datetime


class PaymentPublic(BaseModel):
    amount: MoneyOut
    method: str
    recorded_by: str
    recorded_at: datetime
