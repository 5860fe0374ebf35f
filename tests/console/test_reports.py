"""The console's reports (issue 15): the KPIs of a period (R30) as the JSON API computes them,
only the director's own branch for a branch's director, and their CSV with the session
cookie; the day's report confirmed by its technician from the page, reviewed and signed by
the director and the manager (R27-R29), refusals said on a page; a technician's month (R24);
the pages on a phone and a desk, and a picture of the KPIs for the docs."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.async_api import Browser, expect
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from models.tables import SurveyRecord, TicketRecord
from models.worktime import local
from tests.api.conftest import ADMIN_PASSWORD, PASSWORD, Api, call_in_body
from tests.api.test_daily_reports import drafted, todays_report
from tests.api.test_kpis import fixed_on_the_first_visit
from tests.console.conftest import DESK, OFFICE, PHONE, Console, fits, new_page, sign_in
from tests.workflows.builders import eventually

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WAITING = re.compile(r'id="waiting-reports"[^>]*>(\d+)<')


def figure(page: str, group: str, name: str) -> str:
    """The text of one figure of a group's row in the KPI table."""
    row = page.split(f'data-group="{group}"', 1)[1].split("</tr>", 1)[0]
    found = re.search(rf'data-figure="{name}">([^<]*)<', row)
    assert found, f"no {name} in the row of {group}"
    return html.unescape(found.group(1)).strip()


async def test_the_kpi_page_shows_the_figures_of_the_branch_one_reads(api: Api) -> None:
    await fixed_on_the_first_visit(api, "SN-CONSOLE-1")
    clerk_api, dispatcher_api, admin_api = await api.users("clerk1", "disp1", "admin")
    waiting = (await clerk_api.post("/tickets", json=call_in_body())).json()["id"]
    for technician in ("tech1", "tech2"):  # dispatched twice, nobody there yet
        sent = await dispatcher_api.post(
            f"/tickets/{waiting}/actions/dispatch", json={"technician": technician}
        )
        assert sent.status_code == 200, sent.text
    county = {"username": "dir9", "password": PASSWORD, "full_name": "County director"}
    made = await admin_api.post("/users", json=county | {"roles": ["director"], "branch": "county"})
    assert made.status_code == 201, made.text

    director, elsewhere, clerk, technician = [
        await Console.of(api, name) for name in ("dir1", "dir9", "clerk1", "tech1")
    ]
    try:
        page = (await director.http.get("/console/reports")).text  # R30, this month so far
        assert (figure(page, "city", "tickets"), figure(page, "city", "arrival")) == ("2", "100 %")
        assert figure(page, "city", "first-visit") == "100 %"
        assert (figure(page, "city", "redispatched"), figure(page, "city", "backlog")) == (
            "50 %",
            "1",
        )
        assert page.count("<svg") >= 6 and "Arrival deadline met" in page

        link = html.unescape(re.search(r'id="csv" href="([^"]+)"', page).group(1))  # type: ignore[union-attr]
        exported = await director.http.get(link)
        assert exported.status_code == 200
        assert exported.headers["content-type"].startswith("text/csv")
        [row] = list(csv.DictReader(io.StringIO(exported.text)))
        assert (row["group"], row["tickets"], row["redispatch_rate"]) == ("city", "2", "0.5")

        own = (await elsewhere.http.get("/console/reports")).text  # a branch's director
        assert "Branch county" in own and 'data-group="city"' not in own
        for path in ("/console/reports?branch=city", "/console/reports/kpis.csv?branch=city"):
            refused = await elsewhere.http.get(path)
            assert refused.status_code == 403
            assert "the reports of branch &#39;city&#39;" in refused.text

        assert (await clerk.http.get("/console/reports")).status_code == 403
        sent_on = await technician.http.get("/console/reports")  # reads no KPIs: their reports
        assert (sent_on.status_code, sent_on.headers["location"]) == (303, "/console/reports/daily")

        month = local(datetime.now(UTC), "Asia/Shanghai").strftime("%Y-%m")
        mine = await technician.http.get("/console/reports/appraisal")  # R24
        assert mine.status_code == 200 and f"tech1 in {month}" in mine.text
        assert 'data-figure="sent">0<' in mine.text
        other = await technician.http.get("/console/reports/appraisal?technician=tech2")
        assert other.status_code == 403
        theirs = await director.http.get(
            f"/console/reports/appraisal?technician=tech2&month={month}"
        )
        assert theirs.status_code == 200 and f"tech2 in {month}" in theirs.text
    finally:
        for console in (director, elsewhere, clerk, technician):
            await console.close()


async def test_a_technician_confirms_the_days_report_and_the_director_and_manager_sign_it_off(
    api: Api, dev_env: WorkflowEnvironment, browser: Browser
) -> None:
    await fixed_on_the_first_visit(api, "SN-CONSOLE-DAY")
    day = await todays_report(api, dev_env)
    assert await eventually(lambda: drafted(api, day))
    manager, director = await Console.of(api, "mgr1"), await Console.of(api, "dir1")
    errors: list[str] = []
    page = await new_page(browser, PHONE, errors)
    try:
        early = await manager.post(f"/console/reports/daily/city/{day}/sign", {})
        assert early.status_code == 409  # R29: nothing to sign before the reviews
        assert "tech1&#39;s confirmation" in early.text

        await sign_in(page, api.base_url, "tech1")
        nav = page.get_by_role("navigation", name="Main")
        await expect(nav.locator("#waiting-reports")).to_have_text("1")
        await nav.get_by_role("link", name="Reports").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Daily reports")
        await expect(page.locator("[data-technician='tech1'] tbody tr")).to_have_count(1)
        await fits(page)
        await page.get_by_role("button", name="Confirm my report").click()  # R27
        await expect(page.locator("#done")).to_have_text("Your report is confirmed.")
        await expect(page.locator("[data-confirmed]")).to_contain_text("confirmed by tech1")
        await expect(page.locator("#waiting-reports")).to_have_count(0)
        assert not errors

        listed = (await director.http.get(f"/console/reports/daily?date={day}")).text
        assert WAITING.search(listed).group(1) == "1"  # type: ignore[union-attr]
        reviewed = await director.post(
            f"/console/reports/daily/city/{day}/review", {"technician": "tech1", "note": "ok"}
        )
        assert reviewed.status_code == 303, reviewed.text
        signed = await manager.post(f"/console/reports/daily/city/{day}/sign", {"note": "seen"})
        assert signed.status_code == 303, signed.text
        after = html.unescape((await manager.http.get(signed.headers["location"])).text)
        assert "The branch's report is signed and forwarded." in after
        assert "signed by mgr1" in after and "reviewed by dir1" in after

        exported = await director.http.get(f"/console/reports/daily.csv?date={day}")
        assert exported.headers["content-type"].startswith("text/csv")
        [row] = list(csv.DictReader(io.StringIO(exported.text)))
        assert (row["technician"], row["confirmed_by"], row["signed_by"]) == (
            "tech1",
            "tech1",
            "mgr1",
        )
    finally:
        await page.close()
        await manager.close()
        await director.close()


def busy_fortnight(engine: Engine) -> None:
    """Forty tickets of the last twelve days in the read model, as their workflows would have
    projected them — four technicians, two branches, some late, some still open, most
    answered by a survey card — so the charts have something to show."""
    now = datetime.now(UTC)
    technicians = ("tech1", "tech2", "wang.wei", "li.na")
    with Session(engine) as db:
        for i in range(40):
            technician, created = technicians[i % 4], now - timedelta(hours=5 + i * 7)
            urban = i % 3 != 0
            arrive = 60 + (i % 4) * 45 + (i * 37) % 150 + (240 if i % 11 == 0 else 0)
            resolved = i % 6 != 0
            fix = 40 + (i * 53) % 400
            db.add(
                TicketRecord(
                    id=f"seed-{i}",
                    number=f"T2026-9{i:05d}",
                    seq=90000 + i,
                    status="resolved" if resolved else "on_site",
                    service_type=("paid", "warranty", "contract")[i % 3],
                    zone="urban" if urban else "suburban",
                    branch="city" if urban else "county",
                    customer_name="Customer",
                    customer_phone="13800000000",
                    customer_address="1 Ring Road",
                    product_model="TV-55",
                    problem="no picture",
                    channel="phone",
                    technician=technician,
                    registered_by="clerk1",
                    created_at=created,
                    updated_at=created,
                    arrival_due_at=created + timedelta(hours=6),
                    dispatched_at=created + timedelta(minutes=10),
                    dispatches=2 if i % 7 == 0 else 1,
                    arrived_at=created + timedelta(minutes=arrive),
                    arrival_minutes=arrive,
                    resolved_at=created + timedelta(minutes=arrive + fix) if resolved else None,
                    resolution_minutes=arrive + fix if resolved else None,
                )
            )
            if resolved and i % 5 != 0:
                answered = created + timedelta(hours=3)
                db.add(
                    SurveyRecord(
                        ticket_id=f"seed-{i}",
                        ticket_number=f"T2026-9{i:05d}",
                        workflow_id=f"survey-seed-{i}",
                        status="answered",
                        technician=technician,
                        service_type="paid",
                        customer_name="Customer",
                        customer_phone="13800000000",
                        product_model="TV-55",
                        scheduled_for=answered,
                        sent_at=answered,
                        answered_at=answered,
                        updated_at=answered,
                        attitude=4 - i % 2,
                        skill=4 - i % 3,
                        arrival_time=3 + (i % 4 == 0),
                        promise_keeping=4 - (i % 5 == 1),
                    )
                )
        db.commit()


async def test_the_report_pages_fit_a_phone_and_a_desk(
    api: Api, engine: Engine, browser: Browser
) -> None:
    busy_fortnight(engine)
    today = datetime.now(OFFICE).date()
    period = f"from={today - timedelta(days=13)}&to={today}"
    base = api.base_url
    for screen in (PHONE, DESK):
        errors: list[str] = []
        page = await new_page(browser, screen, errors)
        await sign_in(page, base, "admin", ADMIN_PASSWORD)
        for path in (
            f"/console/reports?{period}&group_by=technician",
            f"/console/reports?{period}&group_by=service_type",
            "/console/reports/daily",
            "/console/reports/appraisal?technician=tech1",
        ):
            await page.goto(base + path)
            await fits(page)
        await page.goto(f"{base}/console/reports?{period}&group_by=technician")
        tickets = page.locator("#figures [data-group='wang.wei'] [data-figure='tickets']")
        await expect(tickets).to_have_text("10")
        await expect(page.locator("#charts svg")).to_have_count(6)
        if screen is DESK:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=SCREENSHOTS / "kpis.png", full_page=True)
        assert not errors, errors
        await page.close()
