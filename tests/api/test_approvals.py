"""Approvals over HTTP (R17–R20): each kind from the request to the decision, with who may
decide it (never the requester, only the roles the policy names, once), and the ticket
carrying on with the decision: parts issued, a discount on the invoice, a held invoice
released, a warranty claim countersigned and its deposit refunded.

The shipped policy (models/default_policy.toml): labour 120.00/h to the customer and 60.00/h
in cost; an advisor grants up to 10 % five times per office week (Asia/Shanghai); margins
below 30 % go to the director; added parts up to 2000.00 to the manager; a warranty claim to
the manager, above 2000.00 countersigned by the VP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from tests.api.conftest import (
    Api,
    add_staff,
    api_settings,
    call_in_body,
    database_url_of,
    running_api,
)
from tests.conftest import time_skipping_server
from tests.workflows.builders import at, skip_to

PROMISED_BY = (datetime.now(UTC) + timedelta(days=3)).isoformat()
# 180.00 of labour, no parts: a margin of 50 % (cost 90.00).
NINETY_MINUTES = {
    "work_summary": "new fuse",
    "labor_minutes": 90,
    "parts": [],
    "customer_signature": "Li Lei",
}
TODAY = datetime.now(UTC).date()
# part_no: (unit cost, list price, stock)
PARTS = {
    "BOARD-55": ("100.00", "300.00", 5),
    "FUSE-5A": ("2.00", "10.00", 50),
    "PANEL-55": ("1500.00", "2500.00", 2),
    "CHIP-X": ("250.00", "300.00", 3),
}


async def ok(answer: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def store(api: Api, *part_nos: str) -> None:
    keeper = await api.as_user("store1")
    for part_no in part_nos:
        cost, price, on_hand = PARTS[part_no]
        body = {
            "part_no": part_no,
            "name": part_no.lower(),
            "unit_cost": cost,
            "list_price": price,
            "stock_on_hand": on_hand,
        }
        await ok(await keeper.post("/parts", json=body), 201)


async def on_hand(api: Api, part_no: str) -> int:
    keeper = await api.as_user("store1")
    return int((await ok(await keeper.get(f"/parts/{part_no}")))["stock_on_hand"])


async def act(api: Api, username: str, tid: str, action: str, **body: Any) -> httpx.Response:
    client = await api.as_user(username)
    return await client.post(f"/tickets/{tid}/actions/{action}", json=body)


async def step(api: Api, username: str, tid: str, action: str, **body: Any) -> dict[str, Any]:
    return await ok(await act(api, username, tid, action, **body))


async def on_site(api: Api, **call_in: Any) -> str:
    clerk = await api.as_user("clerk1")
    tid = str((await ok(await clerk.post("/tickets", json=call_in_body(**call_in)), 201))["id"])
    await step(api, "disp1", tid, "dispatch", technician="tech1")
    await step(api, "tech1", tid, "arrive")
    return tid


async def decide(
    api: Api, username: str, approval_id: str, approve: bool, reason: str | None = "checked"
) -> httpx.Response:
    client = await api.as_user(username)
    body: dict[str, Any] = {"approve": approve}
    if reason is not None:
        body["reason"] = reason
    return await client.post(f"/approvals/{approval_id}/decision", json=body)


async def approvals(api: Api, username: str, **params: str) -> list[dict[str, Any]]:
    client = await api.as_user(username)
    found: list[dict[str, Any]] = await ok(await client.get("/approvals", params=params))
    return found


async def assert_only_they_decide(
    api: Api, approval_id: str, requester: str, others: list[str]
) -> None:
    """The requester and every role the approval does not name get 403; nothing changes."""
    assert (await decide(api, requester, approval_id, True)).status_code == 403
    for username in others:
        refused = await decide(api, username, approval_id, True)
        assert refused.status_code == 403, (username, refused.text)
        assert "needs the role" in refused.json()["detail"]
    admin = await api.as_user("admin")
    still = await ok(await admin.get(f"/approvals/{approval_id}"))
    assert still["status"] == "pending" and still["decided_by"] is None


# --- R19: a paid carry-in, its quotation, and a part added during the repair ---------------


async def test_parts_added_to_a_quoted_repair_wait_for_the_managers_sign_off(api: Api) -> None:
    await store(api, "BOARD-55", "FUSE-5A")
    tid = await on_site(api)
    await step(api, "tech1", tid, "carry_in", customer_signature="Li Lei", promised_by=PROMISED_BY)
    # R19: a paid workshop repair starts once the customer accepts the quotation.
    waiting = await act(api, "tech1", tid, "record_repair", labor_minutes=60, notes="x", parts=[])
    assert waiting.status_code == 409 and "accept_quote" in waiting.json()["detail"]
    quoted = await step(
        api, "tech1", tid, "quote", labor_minutes=60, parts=[{"part_no": "BOARD-55", "qty": 1}]
    )
    quotation = quoted["work_order"]["quotation"]
    assert (quotation["amount"], quotation["status"]) == ("420.00", "offered")
    await step(api, "clerk1", tid, "accept_quote", customer_signature="Li Lei")

    # The quoted board leaves the store at once.
    issued = await step(api, "tech1", tid, "issue_parts", parts=[{"part_no": "BOARD-55", "qty": 1}])
    assert [p["part_no"] for p in issued["work_order"]["parts_issued"]] == ["BOARD-55"]
    assert await on_hand(api, "BOARD-55") == 4
    # Two fuses were not quoted: they wait for the manager, and stay in the store meanwhile.
    asked = await step(
        api,
        "tech1",
        tid,
        "issue_parts",
        parts=[{"part_no": "FUSE-5A", "qty": 2}],
        reason="the fuses blew when the board was fitted",
    )
    [approval] = asked["approvals"]
    assert (approval["kind"], approval["amount"], approval["status"]) == (
        "added_parts",
        "20.00",
        "pending",
    )
    assert approval["approver_roles"] == ["manager"] and approval["requested_by"] == "tech1"
    assert approval["due_at"] is not None  # it goes up the chain if left undecided
    assert await on_hand(api, "FUSE-5A") == 50
    assert [a["id"] for a in await approvals(api, "mgr1", mine="true")] == [approval["id"]]
    assert await approvals(api, "dir1", mine="true") == []

    await assert_only_they_decide(api, approval["id"], "tech1", ["clerk1", "dir1", "acct1"])
    decided = await ok(await decide(api, "mgr1", approval["id"], True))
    assert (decided["status"], decided["decided_by"], decided["note"]) == (
        "approved",
        "mgr1",
        "checked",
    )
    again = await decide(api, "mgr1", approval["id"], False, "changed my mind")
    assert again.status_code == 409 and "approved already" in again.json()["detail"]

    # The ticket carried on: the fuses are issued and the quotation updated.
    ticket = await ok(await (await api.as_user("clerk1")).get(f"/tickets/{tid}"))
    assert await on_hand(api, "FUSE-5A") == 48
    assert ticket["work_order"]["quotation"]["amount"] == "440.00"
    timeline = await ok(await (await api.as_user("clerk1")).get(f"/tickets/{tid}/timeline"))
    assert timeline[-1]["action"] == "decide" and timeline[-1]["data"]["issued"][0]["qty"] == 2

    # Parts recorded without a price are charged at the list price they were issued at.
    used = [{"part_no": "BOARD-55", "qty": 1}, {"part_no": "FUSE-5A", "qty": 2}]
    await step(api, "tech1", tid, "record_repair", labor_minutes=60, parts=used, notes="board")
    await step(api, "dir1", tid, "inspect", passed=True, notes="picture ok")
    returned = await step(api, "tech1", tid, "return", customer_signature="Li Lei")
    # Above the minimum margin: invoiced at once, 120 + 300 + 2 x 10 (cost 60 + 100 + 4).
    assert returned["invoice"]["amount"] == "440.00" and returned["status"] == "resolved"
    assert (await approvals(api, "admin", status="approved", kind="added_parts"))[0]["id"] == (
        approval["id"]
    )


# --- R17: discounts within the advisor's authority, and beyond ------------------------------


async def test_a_discount_within_the_advisors_limit_is_granted_and_reported(api: Api) -> None:
    tid = await on_site(api)
    granted = await step(api, "clerk1", tid, "discount", percent="10", reason="loyal customer")
    assert granted["work_order"]["discount"]["status"] == "granted"
    assert granted["approvals"] == []
    # Reported to the service director (R17), who acknowledges it like any escalation.
    director = await api.as_user("dir1")
    [report] = await ok(await director.get("/escalations", params={"open": "true"}))
    assert report["kind"] == "discount_granted" and report["details"]["reason"] == "loyal customer"
    resolved = await step(api, "tech1", tid, "resolve", **NINETY_MINUTES)
    # R21: the invoice shows the list price, the discount and its reason.
    assert resolved["invoice"]["amount"] == "162.00"
    accountant = await api.as_user("acct1")
    invoice = await ok(await accountant.get(f"/invoices/{resolved['invoice']['number']}"))
    assert [(line["description"], line["amount"]) for line in invoice["lines"]] == [
        ("on-site repair", "180.00"),
        ("discount 10%: loyal customer", "-18.00"),
    ]


async def test_a_discount_beyond_the_advisors_limit_waits_for_the_director(api: Api) -> None:
    tid = await on_site(api)
    asked = await step(api, "clerk1", tid, "discount", percent="15", reason="second visit")
    [approval] = asked["approvals"]
    assert (approval["kind"], approval["amount"], approval["approver_roles"]) == (
        "discount",
        "15.00",
        ["director"],
    )
    assert asked["work_order"]["discount"]["status"] == "pending"
    twice = await act(api, "clerk1", tid, "discount", percent="5", reason="again")
    assert twice.status_code == 409 and "pending already" in twice.json()["detail"]
    await assert_only_they_decide(api, approval["id"], "clerk1", ["mgr1", "acct1", "store1"])
    # A rejection says why.
    unexplained = await decide(api, "dir1", approval["id"], False, reason=None)
    assert unexplained.status_code == 422 and "reason" in unexplained.text
    await ok(await decide(api, "dir1", approval["id"], True))
    assert (await decide(api, "vp1", approval["id"], True)).status_code == 409
    resolved = await step(api, "tech1", tid, "resolve", **NINETY_MINUTES)
    assert resolved["invoice"]["amount"] == "153.00"
    assert resolved["work_order"]["discount"]["granted_by"] == "dir1"


# --- R18: the gross margin --------------------------------------------------------------------


async def test_a_job_below_the_minimum_margin_is_invoiced_once_the_director_approves(
    api: Api,
) -> None:
    await store(api, "CHIP-X")
    tid = await on_site(api)
    await step(api, "tech1", tid, "issue_parts", parts=[{"part_no": "CHIP-X", "qty": 1}])
    resolve = {
        "work_summary": "new chip",
        "labor_minutes": 60,
        "parts": [{"part_no": "CHIP-X", "qty": 1}],
        "customer_signature": "Li Lei",
    }
    # 120 + 300 = 420 against a cost of 250 + 60: a margin of 26.2 %, below 30 %.
    unjustified = await act(api, "tech1", tid, "resolve", **resolve)
    assert unjustified.status_code == 422
    assert "margin_justification" in unjustified.text and "26.2%" in unjustified.text
    clerk = await api.as_user("clerk1")
    assert (await ok(await clerk.get(f"/tickets/{tid}")))["status"] == "on_site"

    resolved = await step(
        api, "tech1", tid, "resolve", **resolve, margin_justification="chip price rose today"
    )
    assert resolved["status"] == "resolved" and resolved["invoice"] is None
    [approval] = resolved["approvals"]
    assert (approval["kind"], approval["approver_roles"], approval["amount"]) == (
        "low_margin",
        ["director"],
        "420.00",
    )
    assert resolved["work_order"]["invoice_waiting_for"] == approval["id"]
    # Nothing to pay before the invoice exists.
    early = await act(api, "acct1", tid, "record_payment", amount="420.00", method="cash")
    assert early.status_code == 409 and "margin" in early.json()["detail"]

    await assert_only_they_decide(api, approval["id"], "tech1", ["mgr1", "clerk1"])
    await ok(await decide(api, "dir1", approval["id"], True))
    ticket = await ok(await clerk.get(f"/tickets/{tid}"))
    assert ticket["invoice"]["amount"] == "420.00"
    assert ticket["work_order"]["invoice_waiting_for"] is None
    paid = await step(api, "acct1", tid, "record_payment", amount="420.00", method="cash")
    assert paid["status"] == "closed"


# --- R19, R20: warranty responsibility, claims, countersignature, deposit ----------------


async def warranty_ticket(api: Api, serial_no: str) -> str:
    clerk = await api.as_user("clerk1")
    customer = await ok(
        await clerk.post(
            "/customers", json={"name": "Li Lei", "phone": "13800000000", "address": "1 Ring Road"}
        ),
        201,
    )
    until = (TODAY + timedelta(days=100)).isoformat()
    product = {
        "serial_no": serial_no,
        "model": "TV-55",
        "customer_id": customer["id"],
        "warranty_until": until,
    }
    await ok(await clerk.post("/products", json=product), 201)
    product_body = {"model": "TV-55", "serial_no": serial_no}
    return await on_site(api, product=product_body)


async def test_a_large_warranty_claim_needs_the_manager_and_the_vp_and_refunds_the_deposit(
    api: Api,
) -> None:
    await store(api, "PANEL-55")
    tid = await warranty_ticket(api, "SN-W-CLAIM")
    # R20: the defect's responsibility is decided first, by the roles the policy names.
    blocked = await act(
        api,
        "tech1",
        tid,
        "resolve",
        work_summary="x",
        labor_minutes=30,
        parts=[],
        customer_signature="Li Lei",
    )
    assert blocked.status_code == 409 and "decide_responsibility" in blocked.json()["detail"]
    decision = {"party": "company", "reason": "panel defect from the factory"}
    refused = await act(api, "dir1", tid, "take_deposit", amount="500.00", method="cash")
    assert refused.status_code == 403
    await step(api, "mgr1", tid, "decide_responsibility", **decision)
    await step(api, "clerk1", tid, "take_deposit", amount="500.00", method="cash")
    await step(api, "tech1", tid, "carry_in", customer_signature="Li Lei", promised_by=PROMISED_BY)

    asked = await step(api, "tech1", tid, "issue_parts", parts=[{"part_no": "PANEL-55", "qty": 1}])
    [claim] = asked["approvals"]
    assert (claim["kind"], claim["amount"], claim["approver_roles"]) == (
        "warranty_claim",
        "2500.00",
        ["manager"],
    )
    await assert_only_they_decide(api, claim["id"], "tech1", ["dir1", "clerk1"])
    await ok(await decide(api, "mgr1", claim["id"], True))
    # Above 2000.00 the VP countersigns before the panel leaves the store.
    ticket = await ok(await (await api.as_user("clerk1")).get(f"/tickets/{tid}"))
    countersign = ticket["approvals"][-1]
    assert (countersign["kind"], countersign["approver_roles"]) == (
        "warranty_countersign",
        ["vp"],
    )
    assert await on_hand(api, "PANEL-55") == 2
    assert ticket["work_order"]["deposit"]["refunded_at"] is None
    await assert_only_they_decide(api, countersign["id"], "tech1", ["mgr1", "dir1"])
    await ok(await decide(api, "vp1", countersign["id"], True))
    ticket = await ok(await (await api.as_user("clerk1")).get(f"/tickets/{tid}"))
    assert await on_hand(api, "PANEL-55") == 1
    # Refunded on fitting (R19).
    assert ticket["work_order"]["deposit"]["refunded_at"] is not None

    used = [{"part_no": "PANEL-55", "qty": 1}]
    await step(api, "tech1", tid, "record_repair", labor_minutes=60, parts=used, notes="panel")
    await step(api, "dir1", tid, "inspect", passed=True, notes="ok")
    done = await step(api, "tech1", tid, "return", customer_signature="Li Lei")
    # The company's responsibility: the customer pays nothing.
    assert done["status"] == "closed" and done["invoice"] is None


async def test_a_shared_responsibility_bills_the_customer_their_share(api: Api) -> None:
    # R20: responsibility decides who pays what.
    tid = await warranty_ticket(api, "SN-W-SHARED")
    bad = await act(
        api, "mgr1", tid, "decide_responsibility", party="shared", reason="dropped, then failed"
    )
    assert bad.status_code == 422 and "customer_share_percent" in bad.text
    await step(
        api,
        "mgr1",
        tid,
        "decide_responsibility",
        party="shared",
        customer_share_percent="40",
        reason="dropped, then failed",
    )
    resolved = await step(
        api,
        "tech1",
        tid,
        "resolve",
        work_summary="reseated the board",
        labor_minutes=90,
        parts=[{"part_no": "FUSE-5A", "qty": 1, "unit_price": "20.00"}],
        customer_signature="Li Lei",
    )
    # 40 % of what a paid job costs: (180.00 + 20.00) x 0.4; no margin rule on warranty work.
    assert resolved["invoice"]["amount"] == "80.00" and resolved["approvals"] == []


async def test_approvals_are_listed_by_status_kind_and_who_may_decide(api: Api) -> None:
    first, second = await on_site(api), await on_site(api)
    one = (await step(api, "clerk1", first, "discount", percent="20", reason="a"))["approvals"][0]
    two = (await step(api, "clerk1", second, "discount", percent="40", reason="b"))["approvals"][0]
    # R17: beyond 30 % the VP decides (the policy's bands).
    assert (one["approver_roles"], two["approver_roles"]) == (["director"], ["vp"])
    await ok(await decide(api, "dir1", one["id"], False, "too much"))
    assert [a["id"] for a in await approvals(api, "mgr1")] == [two["id"], one["id"]]
    assert [a["id"] for a in await approvals(api, "mgr1", status="pending")] == [two["id"]]
    assert [a["id"] for a in await approvals(api, "mgr1", status="rejected")] == [one["id"]]
    assert await approvals(api, "mgr1", kind="low_margin") == []
    assert [a["id"] for a in await approvals(api, "vp1", mine="true")] == [two["id"]]
    assert await approvals(api, "clerk1", mine="true") == []  # their own request
    client = await api.as_user("clerk1")
    assert (await client.get("/approvals", params={"status": "maybe"})).status_code == 422
    missing = await client.post("/approvals/T0-A1/decision", json={"approve": True})
    assert missing.status_code == 404
    rejected = (await ok(await client.get(f"/tickets/{first}")))["work_order"]["discount"]
    assert rejected["status"] == "rejected"


# --- R17: five discounts a week, the week of the office's calendar ---------------------------


@pytest.fixture
async def skipping_api(
    engine: Engine, task_queue: str, tmp_path: Path
) -> AsyncIterator[tuple[Api, WorkflowEnvironment]]:
    async with time_skipping_server() as env:
        settings = api_settings(tmp_path, database_url_of(engine), task_queue)
        add_staff(engine)
        async with running_api(settings, engine, env.client, temporal=env.client) as api:
            yield api, env


@pytest.mark.both_databases
async def test_the_advisors_weekly_discounts_count_in_the_offices_week(
    skipping_api: tuple[Api, WorkflowEnvironment],
) -> None:
    api, env = skipping_api
    # Sunday 23:00 in Shanghai is still Sunday 15:00 UTC: all in the week of Monday 2030-11-18.
    await skip_to(env, at("2030-11-24", "23:00"))
    for n in range(5):
        tid = await on_site(api)
        granted = await step(api, "clerk1", tid, "discount", percent="5", reason=f"visit {n}")
        assert granted["work_order"]["discount"]["status"] == "granted", n
    sixth = await step(api, "clerk1", await on_site(api), "discount", percent="5", reason="6")
    assert sixth["work_order"]["discount"]["status"] == "pending"
    assert "5 discounts this week are used" in sixth["approvals"][0]["details"]["why"]
    # Monday 00:30 in Shanghai (Sunday 16:30 UTC) is a new office week.
    await skip_to(env, at("2030-11-25", "00:30"))
    monday = await step(api, "clerk1", await on_site(api), "discount", percent="5", reason="7")
    assert monday["work_order"]["discount"]["status"] == "granted"
