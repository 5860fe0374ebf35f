"""Dates and times a person types without a zone are the office's (its calendar's time zone,
Asia/Shanghai in the shipped policy): a day in a filter, a promised time in a step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.api.conftest import Api, call_in_body

OFFICE = ZoneInfo("Asia/Shanghai")


async def test_a_day_in_a_filter_is_the_offices_day(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    ticket = (await clerk.post("/tickets", json=call_in_body())).json()
    today = datetime.now(UTC).astimezone(OFFICE).date()

    async def listed(**params: str) -> list[str]:
        answer = await clerk.get("/tickets", params=params)
        assert answer.status_code == 200, answer.text
        return [t["id"] for t in answer.json()]

    assert await listed(created_from=today.isoformat()) == [ticket["id"]]
    assert await listed(created_to=today.isoformat()) == []
    assert await listed(created_from=(today + timedelta(days=1)).isoformat()) == []
    # A time without a zone is the office's too; one with a zone is as given.
    midnight = f"{today.isoformat()}T00:00:00"
    assert await listed(created_from=midnight) == [ticket["id"]]
    assert await listed(created_from=f"{midnight}+14:00", created_to=f"{midnight}+14:00") == []
    bad = await clerk.get("/tickets", params={"created_from": "yesterday"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"][:2] == [
        "query",
        "created_from",
    ]


async def test_a_promised_time_without_a_zone_is_the_offices(api: Api) -> None:
    clerk, disp, tech = await api.users("clerk1", "disp1", "tech1")
    tid = (await clerk.post("/tickets", json=call_in_body())).json()["id"]
    await disp.post(f"/tickets/{tid}/actions/dispatch", json={"technician": "tech1"})
    await tech.post(f"/tickets/{tid}/actions/arrive")
    carried = await tech.post(
        f"/tickets/{tid}/actions/carry_in",
        json={"customer_signature": "Li Lei", "promised_by": "2099-01-02T10:00:00"},
    )
    assert carried.status_code == 200, carried.text
    card = (await clerk.get(f"/tickets/{tid}/repair-card")).json()
    promised = datetime.fromisoformat(card["receipt"]["promised_by"])
    assert promised == datetime(2099, 1, 2, 10, 0, tzinfo=OFFICE)
