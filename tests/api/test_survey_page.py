"""The survey card as a customer sees it, in a real Chromium (R22, R23): open the link from the
email, rate the four items, write a comment, send, and be thanked; the link then says it has
been answered."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from models.tables import SurveyRecord
from tests.api.conftest import CHROMIUM, Api  # noqa: F401  (CHROMIUM: for other modules)
from tests.survey_inbox import Inbox, body, eventually, survey_start, token_in
from workflows.survey import SurveyWorkflow, survey_workflow_id

PHONE_SCREEN: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    inbox = Inbox().start()
    yield inbox
    inbox.stop()


@pytest.fixture
def api_overrides(inbox: Inbox) -> dict[str, object]:
    return {"smtp_host": "127.0.0.1", "smtp_port": inbox.smtp_port}


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """One database is enough here: the page is the same on both."""
    return f"sqlite:///{tmp_path / 'aftersales.db'}"


async def emailed_link(
    env: WorkflowEnvironment,
    api: Api,
    inbox: Inbox,
    reminder_hours: float = 48,
    expiry_hours: float = 168,
) -> str:
    """A resolved ticket's survey card, as the link in the customer's email."""
    start = survey_start(
        datetime.now(UTC),
        delay_hours=0,
        reminder_hours=reminder_hours,
        expiry_hours=expiry_hours,
    )
    start.customer.email = f"{start.ticket_id[:10]}@example.com"
    await env.client.start_workflow(
        SurveyWorkflow.run,
        start,
        id=survey_workflow_id(start.ticket_id),
        task_queue=api.settings.task_queue,
    )
    [card] = await eventually(lambda: inbox.emails_to(str(start.customer.email)))
    text = body(card)
    token = token_in(text)
    [link] = [word for word in text.split() if word.endswith(f"/surveys/{token}")]
    return link


async def rate(page: Page, question: str, level: str) -> None:
    await page.get_by_role("group", name=question).get_by_label(level, exact=True).check()


async def test_a_customer_rates_the_visit_and_is_thanked(
    api: Api, dev_env: WorkflowEnvironment, inbox: Inbox, engine: Engine, browser: Browser
) -> None:
    link = await emailed_link(dev_env, api, inbox)
    page = await browser.new_page(viewport=PHONE_SCREEN)
    await page.goto(link)
    await expect(page.get_by_role("heading", name="How was your repair?")).to_be_visible()
    await expect(page.get_by_text("Tech1")).to_be_visible()

    await rate(page, "Was the technician polite and helpful?", "Very satisfied")
    await rate(page, "How well was the repair done?", "Good")
    await rate(page, "Did the technician arrive on time?", "Slightly late")
    await rate(
        page, "Did the technician keep what was promised (time, price, work)?", "Kept every promise"
    )
    await page.get_by_label("Suggestions (optional)").fill("Please call before coming.")
    await page.get_by_role("button", name="Send my answer").click()

    await expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    with Session(engine) as db:
        [row] = db.exec(select(SurveyRecord)).all()
    assert (row.status, row.attitude, row.skill, row.arrival_time, row.promise_keeping) == (
        "answered",
        4,
        3,
        3,
        4,
    )
    assert row.comment == "Please call before coming." and row.complaint is None

    # The link again, later: it says it has been answered, and offers no form.
    await page.goto(link)
    await expect(page.get_by_role("heading", name="Already answered")).to_be_visible()
    await expect(page.get_by_role("button", name="Send my answer")).to_have_count(0)
    await page.close()


async def test_the_page_wants_every_item_rated(
    api: Api, dev_env: WorkflowEnvironment, inbox: Inbox, browser: Browser
) -> None:
    link = await emailed_link(dev_env, api, inbox)
    page = await browser.new_page(viewport=PHONE_SCREEN)
    await page.goto(link)
    await rate(page, "Was the technician polite and helpful?", "Dissatisfied")
    await page.get_by_role("button", name="Send my answer").click()
    # The browser itself holds the form back until every item has a rating.
    await expect(page.get_by_role("heading", name="How was your repair?")).to_be_visible()
    missing = page.get_by_role("group", name="How well was the repair done?")
    assert await missing.get_by_label("Excellent").evaluate("e => !e.validity.valid")
    await page.close()


async def test_an_expired_link_says_so(
    api: Api, dev_env: WorkflowEnvironment, inbox: Inbox, engine: Engine, browser: Browser
) -> None:
    link = await emailed_link(dev_env, api, inbox, reminder_hours=0.0003, expiry_hours=0.0006)

    def expired() -> bool:
        with Session(engine) as db:
            return db.exec(select(SurveyRecord)).one().status == "expired"

    await eventually(expired)
    page = await browser.new_page(viewport=PHONE_SCREEN)
    await page.goto(link)
    await expect(page.get_by_role("heading", name="This link has expired")).to_be_visible()
    await expect(page.get_by_role("button", name="Send my answer")).to_have_count(0)
    await page.close()
