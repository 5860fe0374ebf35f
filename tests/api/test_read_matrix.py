"""Who may read what, over HTTP: the read matrix of docs/security.md, written here from that
table (not read from models/roles.py), one row per endpoint and one column per role; and R4:
a technician reads only the tickets assigned to them, now or before.

Reads do not depend on the database, so these run on SQLite only.
"""

from __future__ import annotations

import pytest

from tests.api.conftest import PASSWORD, Api, call_in_body
from tests.api.test_permissions import EXTRA_USERS, USER_OF

EVERYONE = set(USER_OF)
OFFICE = {"admin", "clerk", "dispatcher", "director", "manager"}
# endpoint -> the roles that read it (200); every other role gets 403.
MATRIX: dict[str, set[str]] = {
    "/tickets": EVERYONE,
    "/tickets/{mine}": EVERYONE,
    "/tickets/{mine}/timeline": EVERYONE,
    "/tickets/{mine}/repair-card": EVERYONE,
    "/tickets/{mine}/payments": {"admin", "clerk", "director", "manager", "accountant"},
    # Issue 14: the list names only the documents each role reads (tests/api/test_documents.py).
    "/tickets/{mine}/documents": EVERYONE,
    # Issue 14: the photos and documents, for those who work the ticket and the VP.
    "/tickets/{mine}/attachments": OFFICE | {"technician", "vp"},
    "/tickets/{mine}/attachments/{attachment}": OFFICE | {"technician", "vp"},
    "/invoices": {"admin", "clerk", "director", "manager", "accountant"},
    "/register": OFFICE | {"technician"},
    "/escalations": EVERYONE - {"technician", "accountant"},
    "/complaints": OFFICE | {"vp"},
    "/complaints?technician=tech1": {"admin", "director", "manager"},
    "/customers": OFFICE | {"sales", "accountant"},
    "/products": OFFICE | {"sales", "accountant"},
    "/contracts": OFFICE | {"sales", "accountant"},
    "/parts": EVERYONE,
    "/parts/FUSE-5A": EVERYONE,
    "/parts/FUSE-5A/movements": EVERYONE,
    # R17-R20: the office, finance and management see what waits for a decision.
    "/approvals": EVERYONE - {"technician", "sales"},
    "/approvals?mine=true&status=pending": EVERYONE - {"technician", "sales"},
    # R33, R34: who may be sent where, for the office that dispatches.
    "/customers/{customer}/safety-agreements": OFFICE | {"sales", "accountant"},
    "/contracts/{contract}/calendar?past=true": OFFICE | {"sales", "accountant"},
    "/contracts/{contract}/inspections": OFFICE | {"sales", "accountant"},
    "/customers/{customer}/inspections": OFFICE | {"sales", "accountant"},
    "/technicians": OFFICE,
    "/technicians?qualified_for=fire_alarm&available=true": OFFICE,
    "/technicians/tech1/certificates": OFFICE,
    "/messages/templates": OFFICE,
    "/messages/templates/invoiced?language=en": OFFICE,
    "/users": {"admin"},
    "/users/me": EVERYONE,
    # R28-R30: management reads the figures (a branch's director and manager, their own).
    "/reports/kpis?from=2026-01-01&to=2026-01-31": {"admin", "director", "manager", "vp"},
    "/reports/daily?date=2026-01-05": {"admin", "director", "manager", "vp"},
    "/reports/daily/mine": {"technician"},
    "/reports/technicians/tech1/monthly?month=2026-01": {
        "admin",
        "director",
        "manager",
        "technician",  # tech1 reads their own appraisal (R24)
    },
}


@pytest.fixture
async def tickets(api: Api) -> dict[str, str]:
    """`mine`: assigned to tech1; `handed_over`: tech1's, then re-dispatched to tech2;
    `others`: never tech1's; a photo on `mine` (`attachment`) and on `others`
    (`other_attachment`). And a part in the store, FUSE-5A."""
    admin = await api.as_user("admin")
    part = {"part_no": "FUSE-5A", "name": "Fuse", "unit_cost": "0.80", "list_price": "2.50"}
    assert (await admin.post("/parts", json=part)).status_code == 201
    site = {"name": "Plant", "phone": "02100000000", "address": "9 Harbour Road"}
    customer = await admin.post("/customers", json=site)
    assert customer.status_code == 201, customer.text
    product = {"serial_no": "SN-SITE", "model": "FA-900", "customer_id": customer.json()["id"]}
    product_id = (await admin.post("/products", json=product)).json()["id"]
    terms = {"starts_on": "2030-01-07", "ends_on": "2031-01-06", "product_id": product_id}
    contract = await admin.post("/contracts", json={**terms, "customer_id": customer.json()["id"]})
    assert contract.status_code == 201, contract.text
    for username, role in EXTRA_USERS.items():
        created = await admin.post(
            "/users",
            json={"username": username, "password": PASSWORD, "full_name": role, "roles": [role]},
        )
        assert created.status_code == 201, created.text
    clerk, disp = await api.users("clerk1", "disp1")
    ids = {"customer": str(customer.json()["id"]), "contract": str(contract.json()["id"])}
    for name in ("mine", "handed_over", "others"):
        answer = await clerk.post("/tickets", json=call_in_body())
        ids[name] = answer.json()["id"]
    for name, technicians in (("mine", ["tech1"]), ("handed_over", ["tech1", "tech2"])):
        for technician in technicians:
            dispatched = await disp.post(
                f"/tickets/{ids[name]}/actions/dispatch", json={"technician": technician}
            )
            assert dispatched.status_code == 200, dispatched.text
    await disp.post(f"/tickets/{ids['others']}/actions/dispatch", json={"technician": "tech2"})
    for name in ("mine", "others"):
        photo = await admin.post(
            f"/tickets/{ids[name]}/attachments",
            files={"file": ("site.png", b"\x89PNG\r\n\x1a\n" + bytes(64), "image/png")},
        )
        assert photo.status_code == 201, photo.text
        ids["attachment" if name == "mine" else "other_attachment"] = str(photo.json()["id"])
    return ids


async def test_each_role_reads_what_the_matrix_says_and_nothing_else(
    api: Api, tickets: dict[str, str]
) -> None:
    failures = []
    for role, username in USER_OF.items():
        client = await api.as_user(username)
        for endpoint, readers in MATRIX.items():
            answer = await client.get(endpoint.format(**tickets))
            expected = 200 if role in readers else 403
            if answer.status_code != expected:
                failures.append((role, endpoint, answer.status_code, answer.text[:120]))
            if expected == 403:
                assert "role" in answer.json()["detail"], (role, endpoint)
    assert failures == []
    for endpoint in MATRIX:
        anonymous = await api.anonymous.get(endpoint.format(**tickets))
        assert anonymous.status_code == 401, endpoint


async def test_a_technician_reads_only_the_tickets_ever_assigned_to_them(
    api: Api, tickets: dict[str, str]
) -> None:
    # R4: the re-dispatched ticket stays readable (what tech1 did there is theirs), the one
    # never assigned to them does not exist as far as they can tell.
    tech1, tech2 = await api.users("tech1", "tech2")
    listed = await tech1.get("/tickets")
    assert sorted(t["id"] for t in listed.json()) == sorted(
        [tickets["mine"], tickets["handed_over"]]
    )
    assert listed.headers["X-Total-Count"] == "2"
    for path in ("", "/timeline", "/repair-card", "/attachments"):
        assert (await tech1.get(f"/tickets/{tickets['handed_over']}{path}")).status_code == 200
        hidden = await tech1.get(f"/tickets/{tickets['others']}{path}")
        assert hidden.status_code == 404, (path, hidden.text)
    other_photo = f"/tickets/{tickets['others']}/attachments/{tickets['other_attachment']}"
    assert (await tech1.get(other_photo)).status_code == 404
    others = await tech2.get("/tickets")
    assert sorted(t["id"] for t in others.json()) == sorted(
        [tickets["handed_over"], tickets["others"]]
    )
    # Filters apply within what they may read: no way around the scope.
    filtered = await tech1.get("/tickets", params={"technician": "tech2"})
    assert [t["id"] for t in filtered.json()] == [tickets["handed_over"]]


async def test_a_technician_with_an_office_role_too_reads_every_ticket(
    api: Api, tickets: dict[str, str]
) -> None:
    admin = await api.as_user("admin")
    changed = await admin.patch("/users/tech2", json={"roles": ["technician", "dispatcher"]})
    assert changed.status_code == 200
    tech2 = await api.as_user("tech2")
    assert (await tech2.get("/tickets")).headers["X-Total-Count"] == "3"
