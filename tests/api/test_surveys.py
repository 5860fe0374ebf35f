"""Survey cards over HTTP against a real Temporal dev server, a real SMTP server and a real SMS
gateway (R22, R23): the customer's link shows the card and takes one answer."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from models.followup import SurveyStart
from models.policy import load_policy
from models.tables import NotificationRecord, SurveyRecord
from tests.api.conftest import Api, call_in_body
from tests.survey_inbox import PHONE, Inbox, body, eventually, survey_start, token_in
from workflows.survey import SurveyWorkflow, survey_workflow_id

GOOD = {"attitude": 4, "skill": 3, "arrival_time": 4, "promise_keeping": 2, "comment": "tidy"}
RESOLVE_FREE = {
    "work_summary": "reseated cable",
    "labor_minutes": 0,
    "parts": [],
    "customer_signature": "Li Lei",
}


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    inbox = Inbox().start()
    yield inbox
    inbox.stop()


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    """The shipped policy with cards going out 1.8 seconds after a ticket resolves."""
    shipped = Path(__file__).resolve().parents[2] / "models" / "default_policy.toml"
    text = shipped.read_text()
    assert "delay_hours = 24" in text
    path = tmp_path / "policy.toml"
    path.write_text(text.replace("delay_hours = 24", "delay_hours = 0.0005"))
    assert load_policy(path).survey.delay_hours == 0.0005
    return path


@pytest.fixture
def api_overrides(inbox: Inbox, policy_file: Path) -> dict[str, object]:
    # No public_url: the links point at this API itself, so the test follows them as sent.
    return {
        "smtp_host": "127.0.0.1",
        "smtp_port": inbox.smtp_port,
        "sms_webhook_url": inbox.sms_url,
        "policy_file": policy_file,
    }


async def open_card(
    env: WorkflowEnvironment,
    api: Api,
    inbox: Inbox,
    reminder_hours: float = 48,
    expiry_hours: float = 168,
) -> tuple[SurveyStart, str]:
    """Starts a survey as a resolved ticket does; it and the link its card brings by email."""
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
    emails = await eventually(lambda: inbox.emails_to(str(start.customer.email)))
    return start, link_in(body(emails[0]))


def link_in(text: str) -> str:
    """The survey link in a message, exactly as written."""
    token = token_in(text)
    [link] = [word for word in text.split() if word.endswith(f"/surveys/{token}")]
    return link


def survey_row(engine: Engine, ticket_id: str) -> SurveyRecord:
    with Session(engine) as db:
        row = db.get(SurveyRecord, ticket_id)
    assert row is not None
    return row


async def test_the_link_shows_the_four_items_with_four_levels(
    api: Api, dev_env: WorkflowEnvironment, inbox: Inbox
) -> None:
    # R22, R23: no login; the card names the ticket and the technician.
    start, link = await open_card(dev_env, api, inbox)
    assert link.startswith(f"{api.base_url}/surveys/")
    shown = await api.anonymous.get(link)
    assert shown.status_code == 200, shown.text
    assert shown.headers["cache-control"] == "no-store"
    card = shown.json()
    assert card["ticket_number"] == start.ticket_number
    assert card["technician"] == "Tech1"  # the technician's name, not the username
    assert card["status"] == "sent" and card["answered_at"] is None
    assert [item["name"] for item in card["items"]] == [
        "attitude",
        "skill",
        "arrival_time",
        "promise_keeping",
    ]
    for item in card["items"]:
        assert [level["value"] for level in item["levels"]] == [4, 3, 2, 1]
        assert all(level["label"] for level in item["levels"]) and item["question"]
    arrival = next(item for item in card["items"] if item["name"] == "arrival_time")
    assert arrival["levels"][0]["label"] == "On time"
    # The same card reached the phone.
    sms = await eventually(lambda: inbox.sms_to(PHONE))
    assert any(link in text for text in sms)


async def test_a_link_answers_once(
    api: Api, dev_env: WorkflowEnvironment, inbox: Inbox, engine: Engine
) -> None:
    # R23: a token answers once; a second answer is 409 and changes nothing.
    start, link = await open_card(dev_env, api, inbox)
    answered = await api.anonymous.post(link, json=GOOD)
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "answered" and answered.json()["answered_at"]

    again = await api.anonymous.post(link, json={**GOOD, "attitude": 1, "comment": "rude"})
    assert again.status_code == 409, again.text
    assert "already been answered" in again.json()["detail"]

    assert (await api.anonymous.get(link)).json()["status"] == "answered"
    row = survey_row(engine, start.ticket_id)
    assert (row.attitude, row.skill, row.arrival_time, row.promise_keeping) == (4, 3, 4, 2)
    assert row.comment == "tidy" and row.complaint is None


async def test_an_unknown_link_is_not_found(api: Api) -> None:
    for token in ("no-such-token-" + "x" * 30, "x" * 500):
        assert (await api.anonymous.get(f"/surveys/{token}")).status_code == 404
        answered = await api.anonymous.post(f"/surveys/{token}", json=GOOD)
        assert answered.status_code == 404


async def test_a_strangers_post_to_an_unknown_link_is_refused_before_its_body_is_read(
    api: Api,
) -> None:
    # A link nobody was given costs nothing: the answer comes while the body is still on its
    # way (here, never sent), so no one can make the API read large bodies for free.
    host, port = api.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        (
            f"POST /surveys/{'g' * 43} HTTP/1.1\r\nHost: {host}\r\n"
            "Content-Type: application/json\r\nContent-Length: 900000\r\n\r\n{"
        ).encode()
    )
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=20)
    assert head.startswith(b"HTTP/1.1 404")
    writer.close()


async def test_a_rating_out_of_range_is_refused_naming_the_field(
    api: Api, dev_env: WorkflowEnvironment, inbox: Inbox
) -> None:
    # R23: four levels, 1 to 4.
    _, link = await open_card(dev_env, api, inbox)
    refused = await api.anonymous.post(link, json={**GOOD, "skill": 5})
    assert refused.status_code == 422, refused.text
    assert [error["loc"] for error in refused.json()["errors"]] == [["body", "skill"]]
    missing = await api.anonymous.post(link, json={"attitude": 4})
    assert missing.status_code == 422
    assert {e["loc"][-1] for e in missing.json()["errors"]} == {
        "skill",
        "arrival_time",
        "promise_keeping",
    }
    too_long = await api.anonymous.post(link, json={**GOOD, "complaint": "x" * 2001})
    assert [e["loc"][-1] for e in too_long.json()["errors"]] == ["complaint"]
    not_json = await api.anonymous.post(link, content=b"4,4,4,4")
    assert not_json.status_code == 422
    # Nothing was taken: the card still answers.
    assert (await api.anonymous.get(link)).json()["status"] == "sent"
    assert (await api.anonymous.post(link, json=GOOD)).status_code == 200


async def test_an_expired_link_takes_no_answer(
    api: Api, dev_env: WorkflowEnvironment, inbox: Inbox, engine: Engine
) -> None:
    start, link = await open_card(dev_env, api, inbox, reminder_hours=0.0003, expiry_hours=0.0006)
    reminders = await eventually(lambda: inbox.emails_to(str(start.customer.email))[1:])
    assert link_in(body(reminders[0])) == link
    await eventually(lambda: survey_row(engine, start.ticket_id).status == "expired")
    assert (await api.anonymous.get(link)).json()["status"] == "expired"
    refused = await api.anonymous.post(link, json=GOOD)
    assert refused.status_code == 404, refused.text


async def resolve_ticket(api: Api, customer: dict[str, Any]) -> str:
    clerk, disp, tech = await api.users("clerk1", "disp1", "tech1")
    created = await clerk.post("/tickets", json=call_in_body(customer=customer))
    assert created.status_code == 201, created.text
    ticket_id: str = created.json()["id"]
    steps: list[tuple[httpx.AsyncClient, str, dict[str, Any]]] = [
        (disp, "dispatch", {"technician": "tech1"}),
        (tech, "arrive", {}),
        (tech, "resolve", RESOLVE_FREE),
    ]
    for client, action, data in steps:
        done = await client.post(f"/tickets/{ticket_id}/actions/{action}", json=data)
        assert done.status_code == 200, done.text
    return ticket_id


async def test_a_resolved_ticket_gets_its_card_and_the_answer_shows_on_the_ticket(
    api: Api, inbox: Inbox
) -> None:
    # R22: every resolved ticket gets a card, the next day (here: seconds, by the policy).
    email = "wang.fang@example.com"
    customer = {"name": "Wang Fang", "phone": "13900000000", "address": "2 Ring Road"}
    ticket_id = await resolve_ticket(api, {**customer, "email": email})
    clerk, tech = await api.users("clerk1", "tech1")

    [card] = await eventually(lambda: inbox.emails_to(email))
    link = link_in(body(card))
    ticket = (await clerk.get(f"/tickets/{ticket_id}")).json()
    assert card["Subject"].endswith(ticket["number"])
    assert "Tech1" in body(card)
    assert ticket["survey"]["status"] == "sent" and ticket["survey"]["link"] == link

    answered = await api.anonymous.post(link, json=GOOD)
    assert answered.status_code == 200, answered.text
    survey = (await clerk.get(f"/tickets/{ticket_id}")).json()["survey"]
    assert survey["status"] == "answered" and survey["answered_at"] is not None
    # The secret link is for the clerk, director and admin only (api.md).
    assert (await tech.get(f"/tickets/{ticket_id}")).json()["survey"]["link"] is None


async def test_the_page_form_answers_and_comes_back_with_thanks(
    api: Api, dev_env: WorkflowEnvironment, inbox: Inbox
) -> None:
    _, link = await open_card(dev_env, api, inbox)
    html = {"Accept": "text/html"}
    page = await api.anonymous.get(link, headers=html)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert 'name="promise_keeping"' in page.text

    incomplete = await api.anonymous.post(link, data={"attitude": "4"}, headers=html)
    assert incomplete.status_code == 422
    for question in ("How well was the repair done?", "Did the technician arrive on time?"):
        assert f"{question}: Please choose one answer." in incomplete.text
    assert 'name="attitude" value="4" required checked' in incomplete.text  # kept

    form = {k: str(v) for k, v in GOOD.items()} | {"complaint": ""}
    sent = await api.anonymous.post(link, data=form, headers=html)
    assert sent.status_code == 303
    thanks = await api.anonymous.get(httpx.URL(link).join(sent.headers["location"]), headers=html)
    assert "Thank you!" in thanks.text
    again = await api.anonymous.post(link, data=form, headers=html)
    assert again.status_code == 409 and "Already answered" in again.text


@pytest.mark.both_databases
async def test_a_hundred_resolved_tickets_get_a_hundred_cards(
    api: Api, inbox: Inbox, engine: Engine
) -> None:
    # R22: every one, never a sample: 100 tickets resolved through the API, 100 cards.
    emails = [f"customer{n}@example.com" for n in range(100)]
    customers = [
        {"name": f"Customer {n}", "phone": f"1380000{n:04d}", "address": "1 Ring Road", "email": e}
        for n, e in enumerate(emails)
    ]
    batch = asyncio.Semaphore(10)

    async def resolved(customer: dict[str, Any]) -> str:
        async with batch:
            return await resolve_ticket(api, customer)

    ticket_ids = await asyncio.gather(*(resolved(c) for c in customers))
    await eventually(lambda: len(inbox.emails) >= 100 and len(inbox.sms) >= 100, within=120)
    assert sorted(e["To"] for e in inbox.emails) == sorted(emails)
    assert len({token_in(body(e)) for e in inbox.emails}) == 100
    with Session(engine) as db:
        rows = db.exec(select(SurveyRecord)).all()
    assert sorted(r.ticket_id for r in rows) == sorted(ticket_ids)

    def outbox() -> list[tuple[str, str]]:
        with Session(engine) as db:
            rows = db.exec(
                select(NotificationRecord).where(col(NotificationRecord.key).startswith("survey:"))
            ).all()
        return sorted((n.key, n.status) for n in rows)

    # One email and one SMS per ticket, each recorded once in the outbox as sent.
    expected = sorted((f"survey:{t}:card", "sent") for t in ticket_ids for _ in ("email", "sms"))
    await eventually(lambda: outbox() == expected)
