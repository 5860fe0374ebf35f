"""Tickets as read-model rows, for tests of what reads only the row (complaints, attachments,
the store): no ticket workflow needed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.tables import TicketRecord


def ticket_row(engine: Engine, **values: object) -> TicketRecord:
    """A paid ticket dispatched to tech1 for Li Lei's TV-55 (`values` change any field),
    committed; its row."""
    now = datetime.now(UTC)
    tid = str(values.pop("id", uuid.uuid4().hex))
    fields: dict[str, object] = {
        "id": tid,
        "number": f"T{now.year}-{tid[:6]}",
        "seq": 2,
        "status": "dispatched",
        "service_type": "paid",
        "zone": "urban",
        "customer_name": "Li Lei",
        "customer_phone": "13800000000",
        "customer_address": "1 Ring Road",
        "product_model": "TV-55",
        "product_serial_no": "SN-1",
        "problem": "no picture",
        "channel": "phone",
        "technician": "tech1",
        "registered_by": "clerk1",
        "created_at": now,
        "updated_at": now,
    }
    row = TicketRecord(**(fields | values))
    with Session(engine, expire_on_commit=False) as db:
        db.add(row)
        db.commit()
    return row
