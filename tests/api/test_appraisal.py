"""A technician's monthly appraisal over HTTP (R24, from R23's ratings and R25/R26's
complaints), on survey and complaint rows written straight into the read model.

Months are the office calendar's (Asia/Shanghai in the shipped policy, UTC+8): a card sent at
16:30 UTC on 31 March belongs to April.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.tables import ComplaintRecord, SurveyRecord
from tests.api.conftest import Api

NUMBERS = count(1)
Ratings = tuple[int, int, int, int]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def card(technician: str, sent_at: str | None, ratings: Ratings | None = None) -> SurveyRecord:
    n = next(NUMBERS)
    sent = at(sent_at) if sent_at else None
    attitude, skill, arrival_time, promise_keeping = ratings or (None, None, None, None)
    return SurveyRecord(
        ticket_id=f"t-{n}",
        ticket_number=f"T2026-{n:06d}",
        workflow_id=f"survey-t-{n}",
        token_hash=f"{n:064x}",
        status="answered" if ratings else ("sent" if sent else "scheduled"),
        technician=technician,
        service_type="paid",
        customer_name="Li Lei",
        customer_phone="13800000000",
        product_model="TV-55",
        channels=["sms"],
        scheduled_for=sent or at("2026-03-30T00:00:00"),
        sent_at=sent,
        answered_at=at("2026-04-02T00:00:00") if ratings else None,
        attitude=attitude,
        skill=skill,
        arrival_time=arrival_time,
        promise_keeping=promise_keeping,
        updated_at=at("2026-04-02T00:00:00"),
    )


def complaint(technician: str, received_at: str, severity: str | None) -> ComplaintRecord:
    n = next(NUMBERS)
    return ComplaintRecord(
        id=f"C2026-{n:06d}",
        ticket_id=f"t-{n}",
        ticket_number=f"T2026-{n:06d}",
        workflow_id=f"complaint-t-{n}-1",
        customer_name="Li Lei",
        customer_phone="13800000000",
        product_model="TV-55",
        technician=technician,
        text="late",
        received_via="phone",
        recorded_by="clerk1",
        received_at=at(received_at),
        status="triaged" if severity else "open",
        severity=severity,
        updated_at=at(received_at),
    )


@pytest.fixture
def seeded(api: Api, engine: Engine) -> None:
    rows = [
        # tech1, March in Shanghai: 1 March 00:00 +08 is 28 February 16:00 UTC.
        card("tech1", "2026-02-28T16:00:00", (4, 3, 4, 4)),
        card("tech1", "2026-03-15T02:00:00", (3, 3, 2, 3)),
        card("tech1", "2026-03-20T02:00:00"),  # sent, never answered
        # Outside March: 23:59 on 28 February and 00:30 on 1 April in Shanghai; never sent.
        card("tech1", "2026-02-28T15:59:00", (1, 1, 1, 1)),
        card("tech1", "2026-03-31T16:30:00", (2, 2, 2, 2)),
        card("tech1", None),
        card("tech2", "2026-03-10T02:00:00", (4, 4, 4, 4)),
        complaint("tech1", "2026-03-05T03:00:00", "general"),
        complaint("tech1", "2026-03-31T15:00:00", "serious"),  # 23:00 on 31 March
        complaint("tech1", "2026-03-12T03:00:00", None),  # not triaged yet
        complaint("tech1", "2026-03-31T16:00:00", "serious"),  # 00:00 on 1 April
        complaint("tech2", "2026-03-06T03:00:00", "serious"),
    ]
    with Session(engine) as db:
        db.add_all(rows)
        db.commit()


@pytest.mark.usefixtures("seeded")
@pytest.mark.both_databases
async def test_monthly_appraisal_counts_cards_ratings_and_complaints(api: Api) -> None:
    # R24: the month's cards (R23's four items) and complaints (R25, R26), per technician.
    director = await api.as_user("dir1")
    march = await director.get("/reports/technicians/tech1/monthly", params={"month": "2026-03"})
    assert march.status_code == 200, march.text
    assert march.json() == {
        "technician": "tech1",
        "month": "2026-03",
        "cards_sent": 3,
        "cards_answered": 2,
        "response_rate": 0.6667,
        "averages": {"attitude": 3.5, "skill": 3.0, "arrival_time": 3.0, "promise_keeping": 3.5},
        "overall": 3.25,
        "complaints": 3,
        "serious_complaints": 1,
    }
    april = await director.get("/reports/technicians/tech1/monthly", params={"month": "2026-04"})
    assert april.json() == {
        "technician": "tech1",
        "month": "2026-04",
        "cards_sent": 1,
        "cards_answered": 1,
        "response_rate": 1.0,
        "averages": {"attitude": 2.0, "skill": 2.0, "arrival_time": 2.0, "promise_keeping": 2.0},
        "overall": 2.0,
        "complaints": 1,
        "serious_complaints": 1,
    }
    other = await director.get("/reports/technicians/tech2/monthly", params={"month": "2026-03"})
    assert other.json() == {
        "technician": "tech2",
        "month": "2026-03",
        "cards_sent": 1,
        "cards_answered": 1,
        "response_rate": 1.0,
        "averages": {"attitude": 4.0, "skill": 4.0, "arrival_time": 4.0, "promise_keeping": 4.0},
        "overall": 4.0,
        "complaints": 1,
        "serious_complaints": 1,
    }
    quiet = await director.get("/reports/technicians/tech2/monthly", params={"month": "2026-04"})
    assert quiet.json() == {
        "technician": "tech2",
        "month": "2026-04",
        "cards_sent": 0,
        "cards_answered": 0,
        "response_rate": None,
        "averages": {
            "attitude": None,
            "skill": None,
            "arrival_time": None,
            "promise_keeping": None,
        },
        "overall": None,
        "complaints": 0,
        "serious_complaints": 0,
    }


@pytest.mark.usefixtures("seeded")
async def test_appraisal_is_for_supervisors_and_the_technician_themself(api: Api) -> None:
    # R24: directors, managers and admin read every technician's; a technician only their own.
    tech1, clerk, accountant, admin = await api.users("tech1", "clerk1", "acct1", "admin")
    url = "/reports/technicians/{}/monthly"
    march = {"month": "2026-03"}
    assert (await tech1.get(url.format("tech1"), params=march)).status_code == 200
    assert (await admin.get(url.format("tech2"), params=march)).status_code == 200
    for refused in (
        await tech1.get(url.format("tech2"), params=march),
        await clerk.get(url.format("tech1"), params=march),
        await accountant.get(url.format("tech1"), params=march),
    ):
        assert refused.status_code == 403
        assert "director" in refused.json()["detail"]
    assert (await api.anonymous.get(url.format("tech1"), params=march)).status_code == 401


async def test_bad_month_and_unknown_technician_are_refused(api: Api) -> None:
    director = await api.as_user("dir1")
    url = "/reports/technicians/{}/monthly"
    for month in ("2026-13", "2026-3", "March", "2026-00"):
        bad = await director.get(url.format("tech1"), params={"month": month})
        assert bad.status_code == 422, month
        assert bad.json()["errors"][0]["loc"] == ["query", "month"]
    assert (await director.get(url.format("tech1"))).status_code == 422
    for not_a_technician in ("ghost", "clerk1"):
        missing = await director.get(url.format(not_a_technician), params={"month": "2026-03"})
        assert missing.status_code == 404
