"""Every value a client sends is bounded, and a refusal changes nothing (docs/security.md):
amounts within the policy's limits (R21), list and text lengths, the request body (413),
every integer; the status is told before the body (409 before 422); errors name the field and
the rule, never echo the value; keys are the user's own."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.billing import BillingActivities
from models.refusals import INVALID_DATA
from models.ticket import InvoiceRequest
from tests.api.conftest import Api, call_in_body

RESOLVE = {"work_summary": "fixed", "labor_minutes": 0, "parts": [], "customer_signature": "Li"}
BIG = "9" * 30


async def on_site(api: Api) -> str:
    clerk, disp, tech = await api.users("clerk1", "disp1", "tech1")
    tid: str = (await clerk.post("/tickets", json=call_in_body())).json()["id"]
    await disp.post(f"/tickets/{tid}/actions/dispatch", json={"technician": "tech1"})
    assert (await tech.post(f"/tickets/{tid}/actions/arrive")).status_code == 200
    return tid


async def steps(api: Api, tid: str) -> int:
    clerk = await api.as_user("clerk1")
    return len((await clerk.get(f"/tickets/{tid}/timeline")).json())


def part(price: str, qty: int = 1, number: str = "P-1") -> dict[str, Any]:
    return {"part_no": number, "qty": qty, "unit_price": price}


@pytest.mark.both_databases
async def test_the_largest_accepted_amounts_are_invoiced_and_paid(api: Api, engine: Engine) -> None:
    # R21, on both databases: ten lines at the policy's 100,000.00 line limit make the
    # 1,000,000.00 a ticket may cost; that is invoiced, and the next step (payment) works.
    tech, acct = await api.users("tech1", "acct1")
    tid = await on_site(api)
    parts = [part("100000.00", number=f"BIG-{n}") for n in range(10)]
    done = await tech.post(f"/tickets/{tid}/actions/resolve", json={**RESOLVE, "parts": parts})
    assert done.status_code == 200, done.text
    assert done.json()["invoice"]["amount"] == "1000000.00"
    paid = await acct.post(
        f"/tickets/{tid}/actions/record_payment",
        json={"amount": "1000000.00", "method": "transfer"},
    )
    assert paid.status_code == 200 and paid.json()["status"] == "closed", paid.text


async def test_amounts_above_the_policys_limits_are_refused_and_change_nothing(
    api: Api,
) -> None:
    tech = await api.as_user("tech1")
    tid = await on_site(api)
    before = await steps(api, tid)
    cases = {
        "a line above 100,000.00": ([part("100000.01")], ["body", "parts", "0"]),
        "a line of qty × price above it": ([part("25000.01", qty=4)], ["body", "parts", "0"]),
        "a ticket above 1,000,000.00": (
            [part("100000.00", number=f"B{n}") for n in range(10)] + [part("0.01")],
            ["body", "parts"],
        ),
    }
    for case, (parts, where) in cases.items():
        answer = await tech.post(
            f"/tickets/{tid}/actions/resolve", json={**RESOLVE, "parts": parts}
        )
        assert answer.status_code == 422, (case, answer.text)
        assert answer.json()["errors"][0]["loc"] == where, case
        assert "more than" in answer.json()["detail"], case
    labour = await tech.post(
        f"/tickets/{tid}/actions/resolve", json={**RESOLVE, "labor_minutes": 10_001}
    )
    assert labour.status_code == 422 and labour.json()["errors"][0]["loc"][-1] == "labor_minutes"
    # Beyond what the books can hold at all: refused by the body's own bounds.
    huge = await tech.post(
        f"/tickets/{tid}/actions/resolve", json={**RESOLVE, "parts": [part(BIG)]}
    )
    assert huge.status_code == 422
    assert await steps(api, tid) == before
    assert (await tech.get(f"/tickets/{tid}")).json()["status"] == "on_site"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_database_refusal_of_an_invoice_is_final_not_retried(engine: Engine) -> None:
    # The last line behind validation: were an amount to reach the database that its columns
    # cannot hold, the activity fails for good instead of retrying forever (which would hold
    # the ticket's lock and time out every later step). SQLite stores any number; PostgreSQL's
    # NUMERIC(12, 2) refuses it.

    request = InvoiceRequest("t-overflow", "T-overflow", Decimal(BIG[:14]), [], datetime.now(UTC))
    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(BillingActivities(engine).issue_invoice, request)
    assert refused.value.type == INVALID_DATA and refused.value.non_retryable


async def test_lists_and_texts_are_bounded(api: Api) -> None:
    tech = await api.as_user("tech1")
    tid = await on_site(api)
    before = await steps(api, tid)
    too_many = [part("1.00", number=f"P{n}") for n in range(51)]
    cases = {
        "51 part lines": ({"parts": too_many}, ["body", "parts"]),
        "a summary of 2001 characters": ({"work_summary": "x" * 2001}, ["body", "work_summary"]),
        "a signature of 201 characters": (
            {"customer_signature": "x" * 201},
            ["body", "customer_signature"],
        ),
        "a blank summary": ({"work_summary": "   "}, ["body", "work_summary"]),
        "a part number with spaces": (
            {"parts": [part("1.00", number="P 1")]},
            ["body", "parts", "0", "part_no"],
        ),
    }
    for case, (change, where) in cases.items():
        answer = await tech.post(f"/tickets/{tid}/actions/resolve", json={**RESOLVE, **change})
        assert answer.status_code == 422, (case, answer.text)
        assert [str(p) for p in answer.json()["errors"][0]["loc"]] == where, case
    assert await steps(api, tid) == before


async def test_an_error_names_the_field_and_never_echoes_the_value(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    secret_like = "Z" * 100_000  # 100 kB in one field
    answer = await clerk.post("/tickets", json=call_in_body(problem=secret_like))
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["loc"] == ["body", "problem"]
    assert "ZZZZ" not in answer.text and len(answer.content) < 1000
    admin = await api.as_user("admin")
    weak = "pw-7Qx"  # too short for a password
    refused = await admin.post(
        "/users",
        json={"username": "newbie", "password": weak, "full_name": "N", "roles": ["clerk"]},
    )
    assert refused.status_code == 422 and weak not in refused.text


async def test_a_request_body_above_the_limit_is_413_and_changes_nothing(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    limit = api.settings.max_request_bytes
    body = call_in_body(problem="x" * (limit + 1))
    answer = await clerk.post("/tickets", json=body)
    assert answer.status_code == 413, answer.text
    assert (await clerk.get("/tickets")).headers["X-Total-Count"] == "0"

    # A chunked body without Content-Length is counted as it arrives.
    async def chunks() -> Any:
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536

    streamed = await clerk.post(
        "/tickets", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413


async def test_every_integer_a_client_sends_is_bounded(api: Api) -> None:
    admin = await api.as_user("admin")
    beyond_64_bits = str(2**64 + 1)
    for path, params in [
        ("/escalations", {"offset": beyond_64_bits}),
        ("/invoices", {"offset": beyond_64_bits}),
        ("/invoices", {"year": beyond_64_bits}),
        ("/tickets", {"limit": beyond_64_bits}),
        ("/products", {"customer_id": beyond_64_bits}),
        ("/products", {"customer_id": "0"}),
    ]:
        answer = await admin.get(path, params=params)
        assert answer.status_code == 422, (path, params, answer.text)
        assert answer.json()["errors"][0]["loc"][0] == "query", (path, params)
    for method, path in [
        ("PATCH", f"/contracts/{beyond_64_bits}"),
        ("GET", f"/customers/{beyond_64_bits}"),
        ("GET", "/products/0"),
    ]:
        answer = await admin.request(method, path, json={})
        assert answer.status_code == 422, (method, path, answer.text)
        assert answer.json()["errors"][0]["loc"][0] == "path"


async def test_the_status_is_told_before_the_body(api: Api) -> None:
    # shared/spec/api.md: a step the status does not allow answers 409 with the allowed
    # actions, even when its body is invalid too.
    clerk, tech, acct, disp = await api.users("clerk1", "tech1", "acct1", "disp1")
    tid = (await clerk.post("/tickets", json=call_in_body())).json()["id"]
    for client, action, body in [
        (tech, "resolve", {"labor_minutes": "lots"}),
        (acct, "record_payment", {"amount": "10.00", "method": "bitcoin"}),
        (tech, "arrive", {"unexpected": True}),
    ]:
        answer = await client.post(f"/tickets/{tid}/actions/{action}", json=body)
        assert answer.status_code == 409, (action, answer.text)
        assert answer.json()["allowed_actions"] == ["dispatch", "cancel", "hold", "promise"]
    await clerk.post(f"/tickets/{tid}/actions/cancel", json={"reason": "fixed by itself"})
    unknown = await disp.post(f"/tickets/{tid}/actions/dispatch", json={"technician": "ghost"})
    assert unknown.status_code == 409, unknown.text


async def test_payment_methods_come_from_the_policy(api: Api) -> None:
    tech, acct = await api.users("tech1", "acct1")
    tid = await on_site(api)
    await tech.post(f"/tickets/{tid}/actions/resolve", json={**RESOLVE, "labor_minutes": 60})
    bitcoin = await acct.post(
        f"/tickets/{tid}/actions/record_payment", json={"amount": "10.00", "method": "bitcoin"}
    )
    assert bitcoin.status_code == 422, bitcoin.text
    assert bitcoin.json()["errors"][0]["loc"] == ["body", "method"]
    assert "cash, card, transfer, cheque" in bitcoin.json()["detail"]
    cash = await acct.post(
        f"/tickets/{tid}/actions/record_payment", json={"amount": "10.00", "method": "cash"}
    )
    assert cash.status_code == 200, cash.text


async def test_arriving_at_a_ticket_on_hold_says_so_and_how_to_resume(api: Api) -> None:
    clerk, disp, tech = await api.users("clerk1", "disp1", "tech1")
    tid = (await clerk.post("/tickets", json=call_in_body())).json()["id"]
    await disp.post(f"/tickets/{tid}/actions/dispatch", json={"technician": "tech1"})
    await clerk.post(f"/tickets/{tid}/actions/hold", json={"reason": "customer abroad"})
    refused = await tech.post(f"/tickets/{tid}/actions/arrive")
    assert refused.status_code == 409
    detail = refused.json()["detail"]
    assert "on hold" in detail and "customer abroad" in detail and "'resume'" in detail


async def test_idempotency_keys_are_each_users_own(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    director = await api.as_user("dir1")
    key = {"Idempotency-Key": "call-0001"}
    first = await clerk.post("/tickets", json=call_in_body(), headers=key)
    again = await clerk.post("/tickets", json=call_in_body(), headers=key)
    other = await director.post("/tickets", json=call_in_body(), headers=key)
    assert first.json()["id"] == again.json()["id"]
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    # A step's key too: another user's identical key is another step, refused on its own.
    tid = first.json()["id"]
    disp = await api.as_user("disp1")
    step_key = {"Idempotency-Key": "step-1"}
    dispatched = await disp.post(
        f"/tickets/{tid}/actions/dispatch", json={"technician": "tech1"}, headers=step_key
    )
    assert dispatched.status_code == 200
    by_director = await director.post(
        f"/tickets/{tid}/actions/dispatch", json={"technician": "tech2"}, headers=step_key
    )
    assert by_director.status_code == 200 and by_director.json()["technician"] == "tech2"
    retried = await disp.post(
        f"/tickets/{tid}/actions/dispatch", json={"technician": "tech1"}, headers=step_key
    )
    assert retried.status_code == 200 and retried.json()["technician"] == "tech1"  # its answer
    assert (await clerk.get(f"/tickets/{tid}")).json()["technician"] == "tech2"  # not again


async def test_an_idle_connection_is_kept_longer_than_clients_keep_theirs(api: Api) -> None:
    # The dropped POST under load (httpx.ReadError): the server closed an idle keep-alive
    # connection at the very moment a client sent its next request on it. Clients keep idle
    # connections a few seconds (httpx: 5); the server must keep them longer, so the client
    # is always the side that closes and the race cannot happen.
    host, port = api.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    request = f"GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    writer.write(request)
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
    await reader.readexactly(len(b'{"status":"ok"}'))
    await asyncio.sleep(6)  # idle longer than httpx's pool keeps a connection
    writer.write(request)  # the same connection, still open
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
    writer.close()
    await writer.wait_closed()
