"""What an escalation's email says (R16): the ticket's, of the missed promise (R12-R15); the
complaint's, of the visit it needs (R26) or the VP's review (R25), and of a repeat (A2)."""

from __future__ import annotations

from datetime import UTC, datetime

from models.escalation import EscalationKind, complaint_notice, new_escalation, ticket_notice
from models.followup import ComplaintStart
from models.ticket import Customer, Product

AT = datetime(2030, 11, 25, 6, 30, tzinfo=UTC)
DUE = datetime(2030, 11, 25, 8, 30, tzinfo=UTC)


def test_a_tickets_notice_names_the_ticket_the_promise_and_its_times() -> None:
    escalation = new_escalation(
        "T2030-000001-E1",
        EscalationKind.ARRIVAL_OVERDUE,
        "t-1",
        "ticket-t-1",
        AT,
        DUE,
        {"technician": "tech1"},
    )
    notice = ticket_notice(escalation, "T2030-000001", "Li Lei", "urban", key=":again")
    assert notice.subject == "[arrival_overdue] ticket T2030-000001"
    assert notice.body.splitlines() == [
        "Ticket T2030-000001 (Li Lei, urban): arrival overdue.",
        "Raised at 2030-11-25T06:30:00+00:00.",
        "Due at 2030-11-25T08:30:00+00:00.",
        "technician: tech1",
    ]
    assert (notice.ticket_number, notice.key, notice.escalation) == (
        "T2030-000001",
        ":again",
        escalation,
    )


def start() -> ComplaintStart:
    return ComplaintStart(
        ticket_id="t-1",
        ticket_number="T2030-000001",
        customer=Customer("Li Lei", "13800000000", "1 Ring Road"),
        product=Product("TV-55", "SN-1"),
        technician="tech1",
        text="the technician was rude",
        received_at=AT,
        received_via="phone",
        recorded_by="clerk1",
    )


def test_a_complaints_notice_asks_for_the_visit_or_the_vps_review() -> None:
    kinds = {
        EscalationKind.COMPLAINT: "the customer is to be visited (R26)",
        EscalationKind.SERIOUS_COMPLAINT: "for the VP's review (R25)",
    }
    for kind, asked in kinds.items():
        escalation = new_escalation("C2030-000002-x", kind, "t-1", "complaint-t-1-1", AT, None)
        notice = complaint_notice(escalation, "C2030-000002", start(), None)
        assert notice.subject.endswith(asked)
        assert "C2030-000002" in notice.subject and "T2030-000001" in notice.subject
        assert "the technician was rude" in notice.body and "Repeated" not in notice.body


def test_a_repeated_complaints_notice_names_the_one_it_repeats() -> None:
    escalation = new_escalation(
        "C2030-000002-complaint", EscalationKind.COMPLAINT, "t-1", "complaint-t-1-2", AT, None
    )
    notice = complaint_notice(escalation, "C2030-000002", start(), "C2030-000001")
    assert "Repeated: an earlier complaint C2030-000001 about the same product (A2)." in notice.body
