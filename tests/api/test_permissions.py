"""Who may take which step, over HTTP (R3–R9, R11; shared/spec/api.md "Authentication and
roles": 403 when authenticated but not allowed).

The table is written here from the issue, not read from models/roles.py: clerks call in;
dispatchers dispatch; only the assigned technician arrives, resolves, carries in, records
repairs and returns; directors and managers inspect; accountants record payments; directors
may also act for a technician (recorded as `acting_for`); admin may do all. A refused step
answers 403 naming the role it needs, and changes nothing.

Permissions do not depend on the database, so these run on SQLite only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

import httpx

from tests.api.conftest import PASSWORD, Api, call_in_body

# One user per role; sales1 is created by the admin in each test (the rest are STAFF).
USER_OF = {
    "admin": "admin",
    "clerk": "clerk1",
    "dispatcher": "disp1",
    "technician": "tech1",
    "director": "dir1",
    "manager": "mgr1",
    "vp": "vp1",
    "accountant": "acct1",
    "sales": "sales1",
    "storekeeper": "store1",
}
EXTRA_USERS = {"sales1": "sales"}
ROLES = list(USER_OF)
TECHNICIAN_STEP = {"technician", "director", "admin"}  # the director acts for the technician
# action → (roles that may take it, roles the 403 must name). Roles in neither set are
# refused. The issue is silent on who cancels: the office that takes calls and dispatches.
MAY: dict[str, tuple[set[str], set[str]]] = {
    "dispatch": ({"dispatcher", "admin"}, {"dispatcher"}),
    "arrive": (TECHNICIAN_STEP, {"technician"}),
    "resolve": (TECHNICIAN_STEP, {"technician"}),
    "carry_in": (TECHNICIAN_STEP, {"technician"}),
    "record_repair": (TECHNICIAN_STEP, {"technician"}),
    "inspect": ({"director", "manager", "admin"}, {"director", "manager"}),
    "return": (TECHNICIAN_STEP, {"technician"}),
    "record_payment": ({"accountant", "admin"}, {"accountant"}),
    "cancel": ({"clerk", "dispatcher", "director", "admin"}, {"clerk", "dispatcher"}),
    # R19: the technician quotes and asks for parts on their own tickets, a supervisor too;
    # the office records the customer's answer; only the store takes parts back.
    "quote": ({"technician", "director", "manager", "admin"}, {"technician"}),
    "accept_quote": ({"clerk", "director", "manager", "admin"}, {"clerk"}),
    "issue_parts": (
        {"technician", "storekeeper", "director", "manager", "admin"},
        {"technician", "storekeeper"},
    ),
    "return_parts": ({"storekeeper", "admin"}, {"storekeeper"}),
    # R17: the advisor (clerk) grants within limits; supervisors' discounts need approval.
    "discount": ({"clerk", "director", "manager", "admin"}, {"clerk"}),
}
# Where the issue leaves room: the service director supervises dispatch (R4 "a supervisor
# assigns a technician") and the office's supervisors may take a call. Not asserted either way.
LEEWAY = {"dispatch": {"director"}, "call_in": {"dispatcher", "director"}}
CALL_IN_MAY = {"clerk", "admin"}

PROMISED_BY = (datetime.now(UTC) + timedelta(days=3)).isoformat()
BODIES: dict[str, dict[str, Any]] = {
    "dispatch": {"technician": "tech1"},
    "arrive": {},
    "resolve": {
        "work_summary": "replaced the fuse",
        "labor_minutes": 60,
        "parts": [],
        "customer_signature": "Li Lei",
    },
    "carry_in": {"customer_signature": "Li Lei", "promised_by": PROMISED_BY},
    "record_repair": {"labor_minutes": 60, "parts": [], "notes": "replaced the board"},
    "inspect": {"passed": True, "notes": "picture ok"},
    "return": {"customer_signature": "Li Lei"},
    "record_payment": {"amount": "120.00", "method": "cash"},
    "cancel": {"reason": "the customer fixed it"},
    "quote": {"labor_minutes": 60, "parts": [{"part_no": "FUSE-5A", "qty": 1}]},
    "accept_quote": {"customer_signature": "Li Lei"},
    "issue_parts": {"parts": [{"part_no": "FUSE-5A", "qty": 1}]},
    "return_parts": {"parts": [{"part_no": "FUSE-5A", "qty": 1}]},
    "discount": {"percent": "5", "reason": "loyal customer"},
}


def refused_roles(action: str) -> list[str]:
    allowed, _ = MAY[action]
    return [r for r in ROLES if r not in allowed | LEEWAY.get(action, set())]


async def staff(api: Api) -> None:
    admin = await api.as_user("admin")
    for username, role in EXTRA_USERS.items():
        answer = await admin.post(
            "/users",
            json={
                "username": username,
                "password": PASSWORD,
                "full_name": "Extra",
                "roles": [role],
            },
        )
        assert answer.status_code == 201, answer.text


async def snapshot(api: Api, tid: str) -> tuple[str, int]:
    clerk = await api.as_user("clerk1")
    ticket = (await clerk.get(f"/tickets/{tid}")).json()
    return ticket["status"], len((await clerk.get(f"/tickets/{tid}/timeline")).json())


async def take(api: Api, username: str, tid: str, action: str, **overrides: Any) -> httpx.Response:
    client = await api.as_user(username)
    return await client.post(
        f"/tickets/{tid}/actions/{action}", json={**BODIES[action], **overrides}
    )


async def step(api: Api, username: str, tid: str, action: str, **overrides: Any) -> dict:
    answer = await take(api, username, tid, action, **overrides)
    assert answer.status_code == 200, (username, action, answer.text)
    ticket: dict[str, Any] = answer.json()
    return ticket


async def assert_refused_to_other_roles(api: Api, tid: str, *actions: str) -> None:
    """Every role that may not take `actions` gets 403 naming the needed role; nothing changes."""
    before = await snapshot(api, tid)
    for action in actions:
        _, named = MAY[action]
        for role in refused_roles(action):
            answer = await take(api, USER_OF[role], tid, action)
            assert answer.status_code == 403, (action, role, answer.text)
            detail = answer.json()["detail"]
            assert all(needed in detail for needed in named), (action, role, detail)
    assert await snapshot(api, tid) == before


async def assert_refused_to_other_technician(api: Api, tid: str, *actions: str) -> None:
    """R4, R5: a technician's steps are the assigned technician's (tech1), not tech2's."""
    before = await snapshot(api, tid)
    for action in actions:
        answer = await take(api, "tech2", tid, action)
        assert answer.status_code == 403, (action, answer.text)
        assert "tech1" in answer.json()["detail"]
    assert await snapshot(api, tid) == before


async def test_each_step_is_refused_to_every_role_that_may_not_take_it(api: Api) -> None:
    # One ticket along the longest path (carry-in, R7–R9, then payment, R21): at each status
    # every other role is refused, then the role the issue names takes the step.
    await staff(api)
    clerk, keeper = await api.users("clerk1", "store1")
    fuse = {"part_no": "FUSE-5A", "name": "Fuse", "unit_cost": "0.80", "list_price": "2.50"}
    assert (await keeper.post("/parts", json={**fuse, "stock_on_hand": 5})).status_code == 201
    tid = (await clerk.post("/tickets", json=call_in_body())).json()["id"]

    await assert_refused_to_other_roles(api, tid, "dispatch", "cancel")  # R4
    await step(api, "disp1", tid, "dispatch")
    await assert_refused_to_other_roles(api, tid, "arrive", "cancel")  # R5
    await assert_refused_to_other_technician(api, tid, "arrive")
    await step(api, "tech1", tid, "arrive")
    await assert_refused_to_other_roles(api, tid, "resolve", "carry_in")  # R5, R7
    await assert_refused_to_other_technician(api, tid, "resolve", "carry_in")
    await step(api, "tech1", tid, "carry_in")
    await assert_refused_to_other_roles(api, tid, "quote", "discount")  # R19, R17
    await assert_refused_to_other_technician(api, tid, "quote")
    await step(api, "tech1", tid, "quote")
    await assert_refused_to_other_roles(api, tid, "accept_quote")  # R19
    await step(api, "clerk1", tid, "accept_quote")
    await assert_refused_to_other_roles(api, tid, "issue_parts")  # R19
    await assert_refused_to_other_technician(api, tid, "issue_parts")
    await step(api, "tech1", tid, "issue_parts")
    await assert_refused_to_other_roles(api, tid, "record_repair")  # R8
    await assert_refused_to_other_technician(api, tid, "record_repair")
    await step(api, "tech1", tid, "record_repair")
    await assert_refused_to_other_roles(api, tid, "inspect")  # R8: a supervisor inspects
    assert (await step(api, "mgr1", tid, "inspect"))["status"] == "ready_for_return"
    await assert_refused_to_other_roles(api, tid, "return_parts")  # R19: the fuse was not used
    await step(api, "store1", tid, "return_parts")
    await assert_refused_to_other_roles(api, tid, "return")  # R8
    await assert_refused_to_other_technician(api, tid, "return")
    assert (await step(api, "tech1", tid, "return"))["status"] == "resolved"
    await assert_refused_to_other_roles(api, tid, "record_payment")  # R21
    assert (await step(api, "acct1", tid, "record_payment"))["status"] == "closed"

    # R11: the steps that were taken, by whom; none of the refusals.
    timeline = (await clerk.get(f"/tickets/{tid}/timeline")).json()
    assert [(e["action"], e["actor"]) for e in timeline] == [
        ("call_in", "clerk1"),
        ("dispatch", "disp1"),
        ("arrive", "tech1"),
        ("carry_in", "tech1"),
        ("quote", "tech1"),
        ("accept_quote", "clerk1"),
        ("issue_parts", "tech1"),
        ("record_repair", "tech1"),
        ("inspect", "mgr1"),
        ("return_parts", "store1"),
        ("return", "tech1"),
        ("record_payment", "acct1"),
    ]
    assert not any("acting_for" in e["data"] for e in timeline)


async def test_only_the_office_calls_in(api: Api) -> None:
    # R3: the clerk registers call-ins; field, finance, management and sales roles may not.
    await staff(api)
    for role in ROLES:
        if role in CALL_IN_MAY | LEEWAY["call_in"]:
            continue
        client = await api.as_user(USER_OF[role])
        answer = await client.post("/tickets", json=call_in_body(problem=f"by {role}"))
        assert answer.status_code == 403, (role, answer.text)
        assert "clerk" in answer.json()["detail"]
    admin = await api.as_user("admin")
    assert (await admin.get("/tickets")).headers["X-Total-Count"] == "0"
    for role in sorted(CALL_IN_MAY):
        answer = await (await api.as_user(USER_OF[role])).post("/tickets", json=call_in_body())
        assert answer.status_code == 201, (role, answer.text)
        assert answer.json()["status"] == "registered"


async def test_director_and_admin_act_for_the_technician_and_it_is_recorded(api: Api) -> None:
    # R11: a supervisor may take any of the technician's steps; the timeline records whom
    # they acted for. The admin may take every step.
    clerk, admin = await api.users("clerk1", "admin")
    carried = (await admin.post("/tickets", json=call_in_body())).json()["id"]
    await step(api, "admin", carried, "dispatch")
    await step(api, "dir1", carried, "arrive")
    await step(api, "admin", carried, "carry_in")
    await step(api, "dir1", carried, "quote", parts=[])
    await step(api, "admin", carried, "accept_quote")
    await step(api, "dir1", carried, "record_repair")
    await step(api, "admin", carried, "inspect")
    await step(api, "dir1", carried, "return")
    assert (await step(api, "admin", carried, "record_payment"))["status"] == "closed"

    on_site = (await clerk.post("/tickets", json=call_in_body())).json()["id"]
    await step(api, "disp1", on_site, "dispatch")
    await step(api, "tech1", on_site, "arrive")
    assert (await step(api, "dir1", on_site, "resolve"))["status"] == "resolved"

    timeline = (await clerk.get(f"/tickets/{carried}/timeline")).json()
    assert [(e["action"], e["actor"], e["data"].get("acting_for")) for e in timeline] == [
        ("call_in", "admin", None),
        ("dispatch", "admin", None),
        ("arrive", "dir1", "tech1"),
        ("carry_in", "admin", "tech1"),
        ("quote", "dir1", None),
        ("accept_quote", "admin", None),
        ("record_repair", "dir1", "tech1"),
        ("inspect", "admin", None),
        ("return", "dir1", "tech1"),
        ("record_payment", "admin", None),
    ]
    last = (await clerk.get(f"/tickets/{on_site}/timeline")).json()[-1]
    assert (last["action"], last["actor"], last["data"]["acting_for"]) == (
        "resolve",
        "dir1",
        "tech1",
    )
    # The technician stays the ticket's technician.
    assert (await clerk.get(f"/tickets/{carried}")).json()["technician"] == "tech1"


async def test_office_roles_cancel_and_a_reassigned_ticket_changes_hands(api: Api) -> None:
    # Cancel (registered or dispatched) is the office's: clerk, dispatcher, director, admin.
    clerk = await api.as_user("clerk1")
    for username in ("clerk1", "disp1", "dir1", "admin"):
        tid = (await clerk.post("/tickets", json=call_in_body())).json()["id"]
        if username != "clerk1":
            await step(api, "disp1", tid, "dispatch")
        assert (await step(api, username, tid, "cancel"))["status"] == "cancelled"

    # R4: after reassignment the steps are the new technician's; the previous one is refused.
    tid = (await clerk.post("/tickets", json=call_in_body())).json()["id"]
    await step(api, "disp1", tid, "dispatch")
    await step(api, "disp1", tid, "dispatch", technician="tech2")
    before = await snapshot(api, tid)
    refused = await take(api, "tech1", tid, "arrive")
    assert refused.status_code == 403 and "tech2" in refused.json()["detail"]
    assert await snapshot(api, tid) == before
    assert (await step(api, "tech2", tid, "arrive"))["status"] == "on_site"


# R19: the parts store is kept by the storekeeper (and the admin); every other role reads it
# (tests/api/test_read_matrix.py) and is refused every write with 403 naming the storekeeper.
STORE_MAY = {"storekeeper", "admin"}
PART = {"part_no": "FUSE-5A", "name": "Fuse 5 A", "unit_cost": "0.80", "list_price": "2.50"}
CSV_FILE = "part_no,name,unit_cost,list_price\nFUSE-5A,Fuse 5 A,0.80,2.60\n"
STORE_WRITES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/parts", {"json": PART}),
    ("PATCH", "/parts/FUSE-5A", {"json": {"list_price": "2.70"}}),
    ("POST", "/parts/import", {"content": CSV_FILE, "headers": {"Content-Type": "text/csv"}}),
    ("DELETE", "/parts/FUSE-5A", {}),
    ("POST", "/parts/KEPT-1/receipts", {"json": {"qty": 1}}),
]


async def test_only_the_storekeeper_and_admin_keep_the_parts_store(api: Api) -> None:
    await staff(api)
    store = await api.as_user("store1")
    kept = await store.post("/parts", json={**PART, "part_no": "KEPT-1"})
    assert kept.status_code == 201, kept.text
    for role in ROLES:
        client = await api.as_user(USER_OF[role])
        for method, path, request in STORE_WRITES:
            answer = await client.request(method, path, **request)
            if role in STORE_MAY:
                assert answer.status_code < 300, (role, method, path, answer.text)
            else:
                assert answer.status_code == 403, (role, method, path, answer.text)
                assert "storekeeper" in answer.json()["detail"], (role, method, path)
    # Each keeper listed, changed, re-priced and deleted FUSE-5A and took one KEPT-1 in.
    listed = await store.get("/parts")
    assert [(p["part_no"], p["stock_on_hand"]) for p in listed.json()] == [("KEPT-1", 2)]


# R33: the roles that keep the customer records record their sites' safety agreements; R34:
# supervisors record technicians' certificates. Every other role: 403 naming who may.
AGREEMENT_MAY = {"admin", "clerk", "dispatcher", "director", "sales"}
CERTIFICATE_MAY = {"admin", "director", "manager"}


async def test_who_records_safety_agreements_and_certificates(api: Api) -> None:
    await staff(api)
    clerk = await api.as_user("clerk1")
    site = {"name": "Plant", "phone": "02100000000", "address": "9 Harbour Road"}
    customer = (await clerk.post("/customers", json=site)).json()["id"]
    agreement = {
        "signer": "Wang Fang",
        "signed_on": "2026-01-01",
        "valid_until": "2027-01-01",
        "document_ref": "SA-1",
    }
    certificate = {"category": "elevator", "number": "EL-1", "valid_until": "2099-01-01"}
    writes = [
        (f"/customers/{customer}/safety-agreements", agreement, AGREEMENT_MAY, "clerk"),
        ("/technicians/tech1/certificates", certificate, CERTIFICATE_MAY, "manager"),
    ]
    for role in ROLES:
        client = await api.as_user(USER_OF[role])
        for path, body, may, named in writes:
            answer = await client.post(path, json=body)
            if role in may:
                assert answer.status_code == 201, (role, path, answer.text)
            else:
                assert answer.status_code == 403, (role, path, answer.text)
                assert named in answer.json()["detail"], (role, path)
    admin = await api.as_user("admin")
    agreements = await admin.get(f"/customers/{customer}/safety-agreements")
    assert sorted(a["recorded_by"] for a in agreements.json()) == sorted(
        USER_OF[role] for role in AGREEMENT_MAY
    )
    certificates = await admin.get("/technicians/tech1/certificates")
    assert sorted(c["recorded_by"] for c in certificates.json()) == sorted(
        USER_OF[role] for role in CERTIFICATE_MAY
    )


# R31: the roles that keep the customer records renew, reschedule and terminate contracts.
CONTRACT_MAY = {"admin", "clerk", "dispatcher", "director", "sales"}


async def test_who_changes_and_terminates_a_contract(api: Api) -> None:
    await staff(api)
    clerk = await api.as_user("clerk1")
    site = {"name": "Plant", "phone": "02100000000", "address": "9 Harbour Road"}
    customer = (await clerk.post("/customers", json=site)).json()["id"]
    product = {"serial_no": "SN-P-1", "model": "FA-900", "customer_id": customer}
    product_id = (await clerk.post("/products", json=product)).json()["id"]
    body = {
        "customer_id": customer,
        "product_id": product_id,
        "starts_on": "2030-01-07",
        "ends_on": "2031-01-06",
    }
    contract = (await clerk.post("/contracts", json=body)).json()["id"]
    stop = {"terminated_on": "2030-06-01", "reason": "plant closed"}
    for role in ROLES:
        if role in CONTRACT_MAY:
            continue
        client = await api.as_user(USER_OF[role])
        for answer in [
            await client.patch(f"/contracts/{contract}", json={"every": "quarter"}),
            await client.post(f"/contracts/{contract}/terminate", json=stop),
        ]:
            assert answer.status_code == 403, (role, answer.text)
            assert "clerk" in answer.json()["detail"], role
    for role in sorted(CONTRACT_MAY):
        client = await api.as_user(USER_OF[role])
        answer = await client.patch(f"/contracts/{contract}", json={"notes": f"by {role}"})
        assert answer.status_code == 200, (role, answer.text)
    terminated = await clerk.post(f"/contracts/{contract}/terminate", json=stop)
    assert terminated.status_code == 200, terminated.text


# R27-R29: who takes each step of a day's report (the workflow then checks whose report it is);
# a policy what-if is for directors, the VP and admin.
REPORT_STEP_MAY = {
    "confirm": {"technician", "director", "admin"},
    "review": {"director", "admin"},
    "sign": {"manager", "admin"},
}
WHAT_IF_MAY = {"director", "vp", "admin"}


async def test_who_takes_the_days_report_steps_and_tries_a_policy(api: Api) -> None:
    await staff(api)
    period = {"from": "2026-01-05", "to": "2026-01-09"}
    shipped = resources.files("models").joinpath("default_policy.toml").read_text("utf-8")
    for role in ROLES:
        client = await api.as_user(USER_OF[role])
        for step, may in REPORT_STEP_MAY.items():
            body = {"technician": "tech1"} if step == "review" else {}
            answer = await client.post(f"/reports/daily/city/2020-01-06/{step}", json=body)
            # Allowed: the role passes, and there is no such report (404 naming it).
            expected = 404 if role in may else 403
            assert answer.status_code == expected, (role, step, answer.text)
        tried = await client.post("/reports/what-if", json={"policy": shipped, **period})
        assert tried.status_code == (200 if role in WHAT_IF_MAY else 403), (role, tried.text)


# Issue 14: the staff who work a ticket attach photos and documents to it (a technician, to
# the tickets assigned to them); the rest are refused with 403 naming who may.
ATTACH_MAY = {"admin", "clerk", "dispatcher", "technician", "director", "manager"}


async def test_who_attaches_photos_and_documents_to_a_ticket(api: Api) -> None:
    await staff(api)
    clerk, disp = await api.users("clerk1", "disp1")
    tid = (await clerk.post("/tickets", json=call_in_body())).json()["id"]
    await disp.post(f"/tickets/{tid}/actions/dispatch", json={"technician": "tech1"})
    photo = b"\x89PNG\r\n\x1a\n" + bytes(64)
    for role in ROLES:
        client = await api.as_user(USER_OF[role])
        answer = await client.post(
            f"/tickets/{tid}/attachments",
            files={"file": (f"{role}.png", photo, "image/png")},
            data={"about": "ticket"},
        )
        if role in ATTACH_MAY:
            assert answer.status_code == 201, (role, answer.text)
        else:
            assert answer.status_code == 403, (role, answer.text)
            assert "clerk" in answer.json()["detail"], role
    listed = (await clerk.get(f"/tickets/{tid}/attachments")).json()
    assert sorted(a["uploaded_by"] for a in listed) == sorted(USER_OF[r] for r in ATTACH_MAY)
