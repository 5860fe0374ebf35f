"""A ticket's attachments in the read model (issue 14), on SQLite and PostgreSQL: listed in
upload order, found only on their own ticket, and a `ref` checked against what the ticket has
(its repair rounds, its complaints) without ever reaching the database as a bad value."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.attachments import About
from models.refusals import INVALID_PAYLOAD, Refused
from models.tables import AttachmentRecord, ComplaintRecord, RepairRoundRecord, TicketRecord
from store import attachments
from store.files import key_of
from tests.read_model import ticket_row

pytestmark = pytest.mark.both_databases

AT = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


def ticket(db: Session, tid: str, **values: object) -> TicketRecord:
    assert db.bind is not None
    return ticket_row(
        db.bind,  # type: ignore[arg-type]
        id=tid,
        number=f"T2026-{tid}",
        seq=1,
        status="carried_in",
        technician=None,
        created_at=AT,
        updated_at=AT,
        **values,
    )


def add(db: Session, tid: str, name: str) -> AttachmentRecord:
    data = name.encode()
    return attachments.add(
        db,
        ticket_id=tid,
        about=About.TICKET,
        ref=None,
        filename=name,
        content_type="image/png",
        size=len(data),
        key=key_of(data),
        note=None,
        uploaded_by="clerk1",
    )


def test_a_tickets_attachments_are_listed_in_upload_order(engine: Engine) -> None:
    with Session(engine) as db:
        ticket(db, "one")
        ticket(db, "two")
        for tid, name in [("one", "b.png"), ("two", "x.png"), ("one", "a.png"), ("one", "c.png")]:
            add(db, tid, name)
        listed = attachments.of_ticket(db, "one")
        assert [a.filename for a in listed] == ["b.png", "a.png", "c.png"]
        assert [a.sha256 for a in listed] == [
            key_of(n.encode()) for n in ("b.png", "a.png", "c.png")
        ]
        assert listed[0].uploaded_at.tzinfo is not None
        other = attachments.of_ticket(db, "two")[0]
        assert other.id is not None and listed[0].id is not None
        assert attachments.attachment(db, "one", other.id) is None  # another ticket's
        assert attachments.attachment(db, "two", other.id) == other
        assert attachments.attachment(db, "one", 2_147_483_647) is None
        assert attachments.of_ticket(db, "none") == []


def refused_ref(db: Session, row: TicketRecord, about: About, ref: str | None) -> str:
    with pytest.raises(Refused) as refused:
        attachments.checked_ref(db, row, about, ref)
    assert refused.value.type == INVALID_PAYLOAD
    assert refused.value.details["errors"][0]["loc"] == ["body", "ref"]
    return refused.value.message


def test_a_ref_names_a_round_or_complaint_of_the_ticket(engine: Engine) -> None:
    with Session(engine) as db:
        row = ticket(db, "one")
        ticket(db, "two")
        for number in (1, 2):
            db.add(
                RepairRoundRecord(
                    ticket_id="one",
                    round=number,
                    labor_minutes=30,
                    notes="cleaned",
                    fee=Decimal("0.00"),
                    recorded_by="tech1",
                    recorded_at=AT,
                )
            )
        for cid, tid in (("C2026-000001", "one"), ("C2026-000002", "two")):
            db.add(
                ComplaintRecord(
                    id=cid,
                    ticket_id=tid,
                    ticket_number=f"T2026-{tid}",
                    workflow_id=f"complaint-{cid}",
                    customer_name="Li Lei",
                    customer_phone="13800000000",
                    product_model="TV-55",
                    text="late",
                    received_via="phone",
                    recorded_by="clerk1",
                    received_at=AT,
                    status="received",
                    updated_at=AT,
                )
            )
        db.commit()

        assert attachments.checked_ref(db, row, About.ROUND, "2") == "2"
        assert attachments.checked_ref(db, row, About.INSPECTION, "001") == "1"
        assert attachments.checked_ref(db, row, About.COMPLAINT, "C2026-000001") == "C2026-000001"
        assert attachments.checked_ref(db, row, About.TICKET, None) is None
        assert "its rounds: 1, 2" in refused_ref(db, row, About.ROUND, "3")
        for beyond in ("9" * 32, "-1", "١", "1.0", " 1"):  # never a database error
            refused_ref(db, row, About.ROUND, beyond)
        refused_ref(db, row, About.COMPLAINT, "C2026-000002")  # ticket two's
        refused_ref(db, row, About.INSPECTION, None)  # not a contract inspection
        refused_ref(db, row, About.TICKET, "1")
        inspected = ticket(db, "three", inspection={"items": [], "recorded_at": None})
        assert attachments.checked_ref(db, inspected, About.INSPECTION, None) is None
