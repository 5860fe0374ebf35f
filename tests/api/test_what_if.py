"""Policy what-if over HTTP (R12-R16): a director tries a candidate policy on the period's real
tickets and sees its deadlines beside what happened; nothing about the tickets changes; a
candidate that is not a policy, or lacks the tickets' zones, is refused naming the problem.
The arithmetic is held to hand-computed cases in tests/models/test_what_if.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources

from tests.api.conftest import Api, call_in_body

SHIPPED = resources.files("models").joinpath("default_policy.toml").read_text("utf-8")
ONE_HOUR = SHIPPED.replace(
    "[zones.urban]                       # R12: 6 working hours from call-in to arrival\n"
    'calendar = "office"\narrival_hours = 6',
    '[zones.urban]\ncalendar = "office"\narrival_hours = 1',
)
TODAY = datetime.now(UTC).date()
PERIOD = {
    "from": (TODAY - timedelta(days=1)).isoformat(),
    "to": (TODAY + timedelta(days=1)).isoformat(),
}


async def test_a_director_tries_one_hour_arrivals_on_todays_tickets(api: Api) -> None:
    assert ONE_HOUR != SHIPPED
    clerk, director = await api.users("clerk1", "dir1")
    called = (await clerk.post("/tickets", json=call_in_body())).json()

    tried = await director.post("/reports/what-if", json={"policy": ONE_HOUR, **PERIOD})
    assert tried.status_code == 200, tried.text
    report = tried.json()
    assert (report["actual"]["tickets"], report["candidate"]["tickets"]) == (1, 1)
    [changed] = report["changed"]
    assert changed["ticket_id"] == called["id"]
    assert changed["actual"]["arrival_due_at"] is not None
    assert changed["candidate"]["arrival_due_at"] < changed["actual"]["arrival_due_at"]
    same = await director.post("/reports/what-if", json={"policy": SHIPPED, **PERIOD})
    assert same.json()["changed"] == [] and same.json()["actual"] == same.json()["candidate"]
    after = (await clerk.get(f"/tickets/{called['id']}")).json()
    assert after["arrival_due_at"] == called["arrival_due_at"]  # nothing changed


async def test_what_is_not_a_policy_or_not_allowed_is_refused(api: Api) -> None:
    director, clerk = await api.users("dir1", "clerk1")
    await clerk.post("/tickets", json=call_in_body())
    broken = await director.post("/reports/what-if", json={"policy": "[zones", **PERIOD})
    assert broken.status_code == 422 and "not valid TOML" in broken.text
    no_urban = SHIPPED.replace("[zones.urban]", "[zones.downtown]")
    missing = await director.post("/reports/what-if", json={"policy": no_urban, **PERIOD})
    assert missing.status_code == 422 and "no zone urban" in missing.text
    backwards = {"policy": SHIPPED, "from": PERIOD["to"], "to": PERIOD["from"]}
    assert (await director.post("/reports/what-if", json=backwards)).status_code == 422
    huge = {"policy": "#" * 70_000, **PERIOD}
    assert (await director.post("/reports/what-if", json=huge)).status_code == 422
    refused = await clerk.post("/reports/what-if", json={"policy": SHIPPED, **PERIOD})
    assert refused.status_code == 403 and "director" in refused.json()["detail"]
