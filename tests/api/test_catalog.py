"""Customers, products and maintenance contracts over HTTP (R2): the records the entitlement
check reads, who may keep them, and the errors a client gets back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from models.policy import load_policy
from models.worktime import local
from tests.api.conftest import PASSWORD, Api

# The database matters here: run on SQLite and on PostgreSQL.
pytestmark = pytest.mark.both_databases

# The office's day: the API reads an entitlement on it (at midnight UTC it is not yet UTC's).
TODAY = local(datetime.now(UTC), load_policy(None).office_timezone).date()
YEAR = datetime.now(UTC).year
DAY = timedelta(days=1)
EDITOR_ROLES = ["admin", "clerk", "director", "dispatcher", "sales"]


@pytest.fixture(autouse=True)
def empty_catalog_afterwards(engine: Engine) -> Iterator[None]:
    # The PostgreSQL database lives for the whole session; SQLite is fresh per test.
    yield
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(
                text("TRUNCATE contracts, products, customers RESTART IDENTITY CASCADE")
            )


def customer_body(**overrides: Any) -> dict[str, Any]:
    return {"name": "Li Lei", "phone": "13800000000", "address": "1 Ring Road", **overrides}


async def created(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await client.post(path, json=body)
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()
    return found


def later(first: str, second: str) -> bool:
    return datetime.fromisoformat(first) > datetime.fromisoformat(second)


def error_fields(answer: httpx.Response) -> list[str]:
    """The request fields a 422 names."""
    assert answer.status_code == 422, answer.text
    return [str(error["loc"][-1]) for error in answer.json()["errors"]]


async def owned_product(
    client: httpx.AsyncClient, serial_no: str = "SN-1", **fields: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    customer = await created(client, "/customers", customer_body())
    product = await created(
        client,
        "/products",
        {"serial_no": serial_no, "model": "TV-55", "customer_id": customer["id"], **fields},
    )
    return customer, product


def contract_body(customer: dict[str, Any], product: dict[str, Any], **fields: Any) -> dict:
    return {
        "customer_id": customer["id"],
        "product_id": product["id"],
        "starts_on": (TODAY - 30 * DAY).isoformat(),
        "ends_on": (TODAY + 335 * DAY).isoformat(),
        **fields,
    }


# --- customers -------------------------------------------------------------------------------


async def test_clerk_registers_a_customer_and_reads_it_back(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    customer = await created(clerk, "/customers", customer_body(name="  Han Meimei "))
    assert customer["name"] == "Han Meimei" and customer["phone"] == "13800000000"
    assert isinstance(customer["id"], int)
    assert datetime.fromisoformat(customer["created_at"]).utcoffset() is not None

    read = await clerk.get(f"/customers/{customer['id']}")
    assert read.status_code == 200, read.text
    assert read.json() == {**customer, "products": [], "contracts": []}


async def test_customer_shows_their_products_and_contracts(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    customer, product = await owned_product(clerk)
    contract = await created(clerk, "/contracts", contract_body(customer, product))
    other_customer, _ = await owned_product(clerk, "SN-OTHER")

    read = (await clerk.get(f"/customers/{customer['id']}")).json()
    assert [p["serial_no"] for p in read["products"]] == ["SN-1"]
    assert [c["number"] for c in read["contracts"]] == [contract["number"]]
    other = (await clerk.get(f"/customers/{other_customer['id']}")).json()
    assert [p["serial_no"] for p in other["products"]] == ["SN-OTHER"]
    assert other["contracts"] == []


async def test_customers_are_found_by_phone_and_part_of_the_name(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    for name, phone in [
        ("Li Lei", "13800000001"),
        ("Li Na", "13800000002"),
        ("Wang Fang", "13800000001"),
        ("100% Electric", "13800000003"),
    ]:
        await created(clerk, "/customers", customer_body(name=name, phone=phone))

    by_phone = await clerk.get("/customers", params={"phone": "13800000001"})
    assert by_phone.status_code == 200
    assert sorted(c["name"] for c in by_phone.json()) == ["Li Lei", "Wang Fang"]
    assert by_phone.headers["X-Total-Count"] == "2"

    by_name = await clerk.get("/customers", params={"name": "li "})
    assert [c["name"] for c in by_name.json()] == ["Li Lei", "Li Na"]
    both = await clerk.get("/customers", params={"name": "LI", "phone": "13800000002"})
    assert [c["name"] for c in both.json()] == ["Li Na"]
    # A "%" in the name is a character, not a wildcard.
    literal = await clerk.get("/customers", params={"name": "0%"})
    assert [c["name"] for c in literal.json()] == ["100% Electric"]

    page = await clerk.get("/customers", params={"limit": 2, "offset": 1})
    assert [c["name"] for c in page.json()] == ["Li Lei", "Li Na"]
    assert page.headers["X-Total-Count"] == "4"
    assert (await clerk.get("/customers", params={"limit": 0})).status_code == 422


async def test_customer_is_updated_field_by_field(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    customer = await created(clerk, "/customers", customer_body())
    changed = await clerk.patch(f"/customers/{customer['id']}", json={"address": "2 Ring Road"})
    assert changed.status_code == 200, changed.text
    after = changed.json()
    assert after["address"] == "2 Ring Road" and after["name"] == "Li Lei"
    assert later(after["updated_at"], customer["updated_at"])
    assert after["created_at"] == customer["created_at"]
    assert (await clerk.get(f"/customers/{customer['id']}")).json() == after


async def test_bad_customer_input_answers_422_naming_the_field(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    assert error_fields(await clerk.post("/customers", json=customer_body(phone="call me"))) == [
        "phone"
    ]
    assert error_fields(await clerk.post("/customers", json=customer_body(name=" "))) == ["name"]
    missing = {"name": "Li Lei", "phone": "13800000000"}
    assert error_fields(await clerk.post("/customers", json=missing)) == ["address"]
    extra = await clerk.post("/customers", json=customer_body(vip=True))
    assert error_fields(extra) == ["vip"]

    customer = await created(clerk, "/customers", customer_body())
    nulled = await clerk.patch(f"/customers/{customer['id']}", json={"name": None})
    assert error_fields(nulled) == ["name"]
    assert "null" in nulled.text


async def test_missing_customer_answers_404_naming_it(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    for answer in [
        await clerk.get("/customers/424242"),
        await clerk.patch("/customers/424242", json={"address": "2 Ring Road"}),
    ]:
        assert answer.status_code == 404
        assert answer.json() == {"detail": "no customer 424242"}


# --- who may keep the records ------------------------------------------------------------------


async def test_technician_and_accountant_cannot_create_or_change_records(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    customer, product = await owned_product(clerk)
    contract = await created(clerk, "/contracts", contract_body(customer, product))
    for username in ["tech1", "acct1"]:
        client = await api.as_user(username)
        for answer in [
            await client.post("/customers", json=customer_body()),
            await client.patch(f"/customers/{customer['id']}", json={"address": "x road"}),
            await client.post("/products", json={"serial_no": "SN-9", "model": "TV-55"}),
            await client.patch(f"/products/{product['id']}", json={"model": "TV-65"}),
            await client.post("/contracts", json=contract_body(customer, product)),
            await client.patch(f"/contracts/{contract['id']}", json={"notes": "x"}),
        ]:
            assert answer.status_code == 403, answer.text
            detail = answer.json()["detail"]
            assert all(role in detail for role in EDITOR_ROLES), detail
    # Nothing changed.
    assert (await clerk.get(f"/customers/{customer['id']}")).json()["address"] == "1 Ring Road"
    assert (await clerk.get("/customers")).headers["X-Total-Count"] == "1"


async def test_every_front_office_role_may_keep_records(api: Api) -> None:
    admin = await api.as_user("admin")
    made = await admin.post(
        "/users",
        json={"username": "sales1", "password": PASSWORD, "full_name": "Sales", "roles": ["sales"]},
    )
    assert made.status_code == 201, made.text
    for index, username in enumerate(["clerk1", "disp1", "dir1", "sales1", "admin"]):
        client = await api.as_user(username)
        customer, product = await owned_product(client, f"SN-{username}")
        await created(client, "/contracts", contract_body(customer, product))
        changed = await client.patch(f"/customers/{customer['id']}", json={"address": "x"})
        assert changed.status_code == 200, (username, changed.text)
        assert (await client.get("/customers")).headers["X-Total-Count"] == str(index + 1)


async def test_the_office_reads_the_records_a_technician_does_not(api: Api) -> None:
    # docs/security.md: customer records are for the office (and accounts); a technician
    # reads a customer's details on the tickets assigned to them, not the whole list.
    clerk = await api.as_user("clerk1")
    customer, product = await owned_product(clerk)
    contract = await created(clerk, "/contracts", contract_body(customer, product))
    paths = [
        "/customers",
        f"/customers/{customer['id']}",
        "/products",
        f"/products/{product['id']}",
        "/contracts",
        f"/contracts/{contract['id']}",
    ]
    for username in ["disp1", "dir1", "acct1"]:
        client = await api.as_user(username)
        for path in paths:
            assert (await client.get(path)).status_code == 200, (username, path)
    technician = await api.as_user("tech1")
    for path in paths:
        assert (await technician.get(path)).status_code == 403, path
    for path in paths:
        assert (await api.anonymous.get(path)).status_code == 401, path
    assert (await api.anonymous.post("/customers", json=customer_body())).status_code == 401


# --- products ----------------------------------------------------------------------------------


async def test_product_is_registered_with_its_warranty_entitlement(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    customer = await created(clerk, "/customers", customer_body())
    until = (TODAY + 90 * DAY).isoformat()
    body = {"serial_no": "SN-1", "model": "TV-55", "customer_id": customer["id"]}
    product = await created(clerk, "/products", {**body, "warranty_until": until})
    assert product["serial_no"] == "SN-1" and product["warranty_until"] == until
    assert product["customer_id"] == customer["id"] and product["contracts"] == []
    # R2: an unexpired warranty gives `warranty`, with its last day as evidence.
    assert product["entitlement"] == {
        "on": TODAY.isoformat(),
        "service_type": "warranty",
        "evidence": {"warranty_until": until},
        "covers_labor": None,
        "covers_parts": None,
    }
    read = await clerk.get(f"/products/{product['id']}")
    assert read.status_code == 200 and read.json() == product


async def test_product_entitlement_on_another_day(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    body = {"serial_no": "SN-1", "model": "TV-55", "warranty_until": "2026-03-31"}
    product = await created(clerk, "/products", body)
    last_day = await clerk.get(f"/products/{product['id']}", params={"on": "2026-03-31"})
    assert last_day.json()["entitlement"]["service_type"] == "warranty"  # R2: last day counts
    after = (await clerk.get(f"/products/{product['id']}", params={"on": "2026-04-01"})).json()
    assert after["entitlement"]["on"] == "2026-04-01"
    assert after["entitlement"]["service_type"] == "paid"
    assert "warranty expired after 2026-03-31" in after["entitlement"]["evidence"]["reason"]
    bad = await clerk.get(f"/products/{product['id']}", params={"on": "tomorrow"})
    assert error_fields(bad) == ["on"]


async def test_product_without_owner_or_warranty_is_paid(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    product = await created(clerk, "/products", {"serial_no": "SN-1", "model": "TV-55"})
    assert product["customer_id"] is None and product["warranty_until"] is None
    assert product["entitlement"]["service_type"] == "paid"
    assert "no warranty on record" in product["entitlement"]["evidence"]["reason"]


async def test_duplicate_serial_answers_409_naming_it(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    first = await created(clerk, "/products", {"serial_no": "SN-1", "model": "TV-55"})
    again = await clerk.post("/products", json={"serial_no": " SN-1 ", "model": "TV-65"})
    assert again.status_code == 409
    assert "'SN-1'" in again.json()["detail"] and str(first["id"]) in again.json()["detail"]

    second = await created(clerk, "/products", {"serial_no": "SN-2", "model": "TV-55"})
    renamed = await clerk.patch(f"/products/{second['id']}", json={"serial_no": "SN-1"})
    assert renamed.status_code == 409 and "'SN-1'" in renamed.json()["detail"]
    assert (await clerk.get(f"/products/{second['id']}")).json()["serial_no"] == "SN-2"
    # Its own serial number is no conflict.
    same = await clerk.patch(f"/products/{second['id']}", json={"serial_no": "SN-2"})
    assert same.status_code == 200, same.text


async def test_bad_product_input_answers_422_naming_the_field(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    assert error_fields(await clerk.post("/products", json={"model": "TV-55"})) == ["serial_no"]
    bad_date = {"serial_no": "SN-1", "model": "TV-55", "warranty_until": "someday"}
    assert error_fields(await clerk.post("/products", json=bad_date)) == ["warranty_until"]
    no_owner = {"serial_no": "SN-1", "model": "TV-55", "customer_id": 424242}
    answer = await clerk.post("/products", json=no_owner)
    assert error_fields(answer) == ["customer_id"] and "no customer 424242" in answer.text

    product = await created(clerk, "/products", {"serial_no": "SN-1", "model": "TV-55"})
    assert error_fields(
        await clerk.patch(f"/products/{product['id']}", json={"serial_no": None})
    ) == ["serial_no"]
    assert error_fields(
        await clerk.patch(f"/products/{product['id']}", json={"customer_id": 424242})
    ) == ["customer_id"]


async def test_product_is_updated_and_given_away(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    customer, product = await owned_product(clerk)
    until = (TODAY + DAY).isoformat()
    changed = await clerk.patch(
        f"/products/{product['id']}", json={"model": "TV-55 Pro", "warranty_until": until}
    )
    assert changed.status_code == 200, changed.text
    after = changed.json()
    assert after["model"] == "TV-55 Pro" and after["serial_no"] == "SN-1"
    assert after["entitlement"]["service_type"] == "warranty"
    assert later(after["updated_at"], product["updated_at"])

    cleared = await clerk.patch(
        f"/products/{product['id']}", json={"customer_id": None, "warranty_until": None}
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["customer_id"] is None and cleared.json()["warranty_until"] is None
    assert cleared.json()["entitlement"]["service_type"] == "paid"
    assert (await clerk.get(f"/customers/{customer['id']}")).json()["products"] == []


async def test_products_are_found_by_serial_and_owner(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    customer, _ = await owned_product(clerk, "SN-1")
    await created(
        clerk, "/products", {"serial_no": "SN-2", "model": "TV", "customer_id": customer["id"]}
    )
    await created(clerk, "/products", {"serial_no": "SN-3", "model": "Fridge"})

    by_owner = await clerk.get("/products", params={"customer_id": customer["id"]})
    assert [p["serial_no"] for p in by_owner.json()] == ["SN-1", "SN-2"]
    assert by_owner.headers["X-Total-Count"] == "2"
    by_serial = await clerk.get("/products", params={"serial_no": "SN-3"})
    assert [p["model"] for p in by_serial.json()] == ["Fridge"]
    assert "entitlement" not in by_serial.json()[0]
    none = await clerk.get("/products", params={"serial_no": "SN-404"})
    assert none.json() == [] and none.headers["X-Total-Count"] == "0"
    page = await clerk.get("/products", params={"limit": 1, "offset": 2})
    assert [p["serial_no"] for p in page.json()] == ["SN-3"]
    assert page.headers["X-Total-Count"] == "3"


async def test_missing_product_answers_404_naming_it(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    for answer in [
        await clerk.get("/products/424242"),
        await clerk.patch("/products/424242", json={"model": "TV"}),
    ]:
        assert answer.status_code == 404
        assert answer.json() == {"detail": "no product 424242"}


# --- contracts ---------------------------------------------------------------------------------


async def test_contract_is_numbered_and_gives_the_product_contract_service(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    customer, product = await owned_product(clerk, warranty_until=(TODAY + DAY).isoformat())
    body = contract_body(customer, product, covers_parts=True, notes="  monthly checks ")
    contract = await created(clerk, "/contracts", body)
    assert contract["number"] == f"MC-{YEAR}-0001"
    assert contract["starts_on"] == body["starts_on"] and contract["ends_on"] == body["ends_on"]
    assert (contract["covers_labor"], contract["covers_parts"]) == (True, True)
    assert contract["notes"] == "monthly checks"
    shorter = contract_body(customer, product, ends_on=(TODAY + 10 * DAY).isoformat())
    second = await created(clerk, "/contracts", shorter)
    assert second["number"] == f"MC-{YEAR}-0002"
    assert (second["covers_labor"], second["covers_parts"]) == (True, False)
    assert (await clerk.get(f"/contracts/{contract['id']}")).json() == contract

    # R2: an active contract beats the running warranty; its number and terms are the evidence.
    read = (await clerk.get(f"/products/{product['id']}")).json()
    entitlement = read["entitlement"]
    assert entitlement["service_type"] == "contract"
    assert entitlement["evidence"] == {
        "contract": contract["number"],
        "starts_on": body["starts_on"],
        "ends_on": body["ends_on"],
    }
    assert (entitlement["covers_labor"], entitlement["covers_parts"]) == (True, True)
    assert [c["number"] for c in read["contracts"]] == [contract["number"], second["number"]]


async def test_contract_number_given_by_the_user_is_kept_and_skipped_later(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    customer, product = await owned_product(clerk)
    chosen = await created(
        clerk, "/contracts", contract_body(customer, product, number=f"MC-{YEAR}-0001")
    )
    assert chosen["number"] == f"MC-{YEAR}-0001"
    generated = await created(clerk, "/contracts", contract_body(customer, product))
    assert generated["number"] == f"MC-{YEAR}-0002"


async def test_duplicate_contract_number_answers_409_naming_it(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    customer, product = await owned_product(clerk)
    first = await created(clerk, "/contracts", contract_body(customer, product, number="K-7"))
    again = await clerk.post("/contracts", json=contract_body(customer, product, number="K-7"))
    assert again.status_code == 409 and "'K-7'" in again.json()["detail"]

    other = await created(clerk, "/contracts", contract_body(customer, product))
    renamed = await clerk.patch(f"/contracts/{other['id']}", json={"number": "K-7"})
    assert renamed.status_code == 409 and "'K-7'" in renamed.json()["detail"]
    assert (await clerk.get(f"/contracts/{other['id']}")).json()["number"] == other["number"]
    assert (await clerk.get(f"/contracts/{first['id']}")).json()["number"] == "K-7"


async def test_contract_must_end_after_it_starts(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    customer, product = await owned_product(clerk)
    for ends_on in [TODAY, TODAY - DAY]:
        body = contract_body(customer, product, starts_on=TODAY.isoformat(), ends_on=str(ends_on))
        answer = await clerk.post("/contracts", json=body)
        assert error_fields(answer) == ["ends_on"]
        assert "after starts_on" in answer.text
    assert (await clerk.get("/contracts")).json() == []

    contract = await created(clerk, "/contracts", contract_body(customer, product))
    early = await clerk.patch(
        f"/contracts/{contract['id']}", json={"ends_on": contract["starts_on"]}
    )
    assert error_fields(early) == ["ends_on"] and "terminate" in early.text
    # A running contract keeps its start: its workflow's calendar counts from it (R32).
    late_start = await clerk.patch(
        f"/contracts/{contract['id']}", json={"starts_on": contract["ends_on"]}
    )
    assert late_start.status_code == 409 and "terminate" in late_start.json()["detail"]
    assert (await clerk.get(f"/contracts/{contract['id']}")).json() == contract


async def test_contract_product_must_belong_to_the_customer(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    customer, product = await owned_product(clerk, "SN-1")
    other_customer, other_product = await owned_product(clerk, "SN-2")
    stray = await created(clerk, "/products", {"serial_no": "SN-3", "model": "TV-55"})

    theirs = await clerk.post("/contracts", json=contract_body(customer, other_product))
    assert error_fields(theirs) == ["product_id"]
    assert f"customer {other_customer['id']}" in theirs.text
    unowned = await clerk.post("/contracts", json=contract_body(customer, stray))
    assert error_fields(unowned) == ["product_id"] and "no customer" in unowned.text
    no_product = await clerk.post("/contracts", json=contract_body(customer, {"id": 424242}))
    assert error_fields(no_product) == ["product_id"] and "no product 424242" in no_product.text
    no_customer = await clerk.post("/contracts", json=contract_body({"id": 424242}, product))
    assert error_fields(no_customer) == ["customer_id"]
    assert "no customer 424242" in no_customer.text

    # A running contract stays with its customer and product (R31, R32): a new one is made.
    contract = await created(clerk, "/contracts", contract_body(customer, product))
    both = await clerk.patch(
        f"/contracts/{contract['id']}",
        json={"customer_id": other_customer["id"], "product_id": other_product["id"]},
    )
    assert both.status_code == 409 and "customer_id, product_id" in both.json()["detail"]
    assert (await clerk.get(f"/contracts/{contract['id']}")).json() == contract


async def test_bad_contract_input_answers_422_naming_the_field(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    customer, product = await owned_product(clerk)
    body = contract_body(customer, product)
    for field, value in [
        ("starts_on", "2026-02-30"),
        ("number", "no spaces please"),
        ("covers_parts", "perhaps"),
        ("customer_id", 0),
    ]:
        answer = await clerk.post("/contracts", json={**body, field: value})
        assert error_fields(answer) == [field], field
    missing = {k: v for k, v in body.items() if k != "ends_on"}
    assert error_fields(await clerk.post("/contracts", json=missing)) == ["ends_on"]

    contract = await created(clerk, "/contracts", body)
    nulled = await clerk.patch(f"/contracts/{contract['id']}", json={"starts_on": None})
    assert error_fields(nulled) == ["starts_on"]


async def test_contract_is_updated_and_its_notes_cleared(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    customer, product = await owned_product(clerk)
    contract = await created(clerk, "/contracts", contract_body(customer, product, notes="n"))
    new_end = (TODAY + 700 * DAY).isoformat()
    changed = await clerk.patch(
        f"/contracts/{contract['id']}",
        json={"ends_on": new_end, "covers_parts": True, "notes": None},
    )
    assert changed.status_code == 200, changed.text
    after = changed.json()
    assert after["ends_on"] == new_end and after["covers_parts"] is True
    assert after["notes"] is None and after["number"] == contract["number"]
    assert later(after["updated_at"], contract["updated_at"])
    read = (await clerk.get(f"/products/{product['id']}")).json()
    assert read["entitlement"]["evidence"]["ends_on"] == new_end


async def test_contracts_are_found_by_customer_product_and_active_day(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    customer, product = await owned_product(clerk, "SN-1")
    other_customer, other_product = await owned_product(clerk, "SN-2")
    ended = await created(
        clerk,
        "/contracts",
        contract_body(customer, product, starts_on="2024-01-01", ends_on="2024-12-31"),
    )
    running = await created(
        clerk,
        "/contracts",
        contract_body(customer, product, starts_on="2025-01-01", ends_on="2025-12-31"),
    )
    theirs = await created(
        clerk,
        "/contracts",
        contract_body(other_customer, other_product, starts_on="2025-06-01", ends_on="2026-05-31"),
    )

    def numbers(answer: httpx.Response) -> list[str]:
        assert answer.status_code == 200, answer.text
        return [c["number"] for c in answer.json()]

    every = await clerk.get("/contracts")
    assert numbers(every) == [theirs["number"], running["number"], ended["number"]]
    assert every.headers["X-Total-Count"] == "3"
    by_customer = await clerk.get("/contracts", params={"customer_id": customer["id"]})
    assert numbers(by_customer) == [running["number"], ended["number"]]
    by_product = await clerk.get("/contracts", params={"product_id": other_product["id"]})
    assert numbers(by_product) == [theirs["number"]]
    # Both ends of the period count.
    for day, expected in [
        ("2024-12-31", [ended]),
        ("2025-01-01", [running]),
        ("2025-06-01", [theirs, running]),
        ("2026-05-31", [theirs]),
        ("2026-06-01", []),
    ]:
        answer = await clerk.get("/contracts", params={"active_on": day})
        assert numbers(answer) == [c["number"] for c in expected], day
        assert answer.headers["X-Total-Count"] == str(len(expected))
    both = await clerk.get(
        "/contracts", params={"customer_id": customer["id"], "active_on": "2025-06-01"}
    )
    assert numbers(both) == [running["number"]]
    page = await clerk.get("/contracts", params={"limit": 1, "offset": 1})
    assert numbers(page) == [running["number"]] and page.headers["X-Total-Count"] == "3"
    assert error_fields(await clerk.get("/contracts", params={"active_on": "soon"})) == [
        "active_on"
    ]


async def test_missing_contract_answers_404_naming_it(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    for answer in [
        await clerk.get("/contracts/424242"),
        await clerk.patch("/contracts/424242", json={"notes": "x"}),
    ]:
        assert answer.status_code == 404
        assert answer.json() == {"detail": "no contract 424242"}
