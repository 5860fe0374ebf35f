"""Who may be sent where, over HTTP (R33, R34): a site that requires a safety agreement takes
no technician without a valid one, and a product category the policy names (the shipped
policy: `fire_alarm`, `elevator`) takes only a technician with a valid certificate for it.
Each refusal is a 409 saying what is missing and changes nothing; the dispatcher sees it on
the ticket before trying, and `GET /technicians?qualified_for=` finds who may go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.api.conftest import Api, call_in_body

TODAY = datetime.now(UTC).date()
DAY = timedelta(days=1)


async def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


async def site(api: Api, serial_no: str, *, agreement: bool, category: str | None = None) -> int:
    """A customer (whose site may require a safety agreement) and their product."""
    clerk = await api.as_user("clerk1")
    customer = await ok(
        await clerk.post(
            "/customers",
            json={
                "name": "Plant No. 3",
                "phone": "02100000000",
                "address": "9 Harbour Road",
                "safety_agreement_required": agreement,
            },
        ),
        201,
    )
    product: dict[str, Any] = {
        "serial_no": serial_no,
        "model": "FA-900",
        "customer_id": customer["id"],
    }
    if category is not None:
        product["category"] = category
    await ok(await clerk.post("/products", json=product), 201)
    return int(customer["id"])


async def ticket(api: Api, serial_no: str) -> str:
    clerk = await api.as_user("clerk1")
    product = {"model": "FA-900", "serial_no": serial_no}
    body = call_in_body(product=product)
    return str((await ok(await clerk.post("/tickets", json=body), 201))["id"])


async def dispatch(api: Api, tid: str, technician: str = "tech1") -> httpx.Response:
    dispatcher = await api.as_user("disp1")
    return await dispatcher.post(
        f"/tickets/{tid}/actions/dispatch", json={"technician": technician}
    )


async def agreement(api: Api, customer_id: int, valid_until: str) -> httpx.Response:
    clerk = await api.as_user("clerk1")
    body = {
        "signer": "Wang Fang, plant safety officer",
        "signed_on": (TODAY - 400 * DAY).isoformat(),
        "valid_until": valid_until,
        "document_ref": "SA-2026-017",
    }
    return await clerk.post(f"/customers/{customer_id}/safety-agreements", json=body)


async def test_a_site_needing_a_safety_agreement_takes_no_technician_until_one_is_valid(
    api: Api,
) -> None:
    customer_id = await site(api, "SN-SAFE-1", agreement=True)
    tid = await ticket(api, "SN-SAFE-1")
    clerk = await api.as_user("clerk1")
    # Seen on the ticket before anyone tries.
    seen = (await ok(await clerk.get(f"/tickets/{tid}")))["dispatch_requirements"]
    assert seen["safety_agreement_required"] is True
    assert "none is recorded" in seen["dispatch_blocked"]

    refused = await dispatch(api, tid)
    assert refused.status_code == 409
    assert "safety agreement" in refused.json()["detail"] and "R33" in refused.json()["detail"]
    assert (await ok(await clerk.get(f"/tickets/{tid}")))["status"] == "registered"

    # An expired agreement is named by its last day.
    yesterday = (TODAY - DAY).isoformat()
    await ok(await agreement(api, customer_id, yesterday), 201)
    expired = await dispatch(api, tid)
    assert expired.status_code == 409 and f"expired on {yesterday}" in expired.json()["detail"]

    until = (TODAY + 365 * DAY).isoformat()
    await ok(await agreement(api, customer_id, until), 201)
    seen = (await ok(await clerk.get(f"/tickets/{tid}")))["dispatch_requirements"]
    assert (seen["safety_agreement_valid_until"], seen["dispatch_blocked"]) == (until, None)
    assert (await ok(await dispatch(api, tid)))["status"] == "dispatched"
    listed = await ok(await clerk.get(f"/customers/{customer_id}/safety-agreements"))
    assert [a["valid_until"] for a in listed] == [until, yesterday]


async def test_an_agreement_is_valid_from_its_signing_and_only_for_a_known_customer(
    api: Api,
) -> None:
    customer_id = await site(api, "SN-SAFE-2", agreement=True)
    clerk = await api.as_user("clerk1")
    backwards = {
        "signer": "Wang Fang",
        "signed_on": TODAY.isoformat(),
        "valid_until": (TODAY - DAY).isoformat(),
        "document_ref": "SA-1",
    }
    bad = await clerk.post(f"/customers/{customer_id}/safety-agreements", json=backwards)
    assert bad.status_code == 422 and "valid_until" in bad.text
    missing = await agreement(api, 999_999, TODAY.isoformat())
    assert missing.status_code == 404
    technician = await api.as_user("tech1")
    forbidden = await technician.post(
        f"/customers/{customer_id}/safety-agreements",
        json={**backwards, "valid_until": "2099-01-01"},
    )
    assert forbidden.status_code == 403
    assert await ok(await clerk.get(f"/customers/{customer_id}/safety-agreements")) == []


async def test_a_category_needing_a_certificate_takes_only_a_qualified_technician(
    api: Api,
) -> None:
    await site(api, "SN-FIRE-1", agreement=False, category="fire_alarm")
    tid = await ticket(api, "SN-FIRE-1")
    clerk, dispatcher, director = await api.users("clerk1", "disp1", "dir1")
    seen = (await ok(await clerk.get(f"/tickets/{tid}")))["dispatch_requirements"]
    assert seen["certificate_required"] == "fire_alarm" and seen["dispatch_blocked"] is None
    assert await ok(await dispatcher.get("/technicians?qualified_for=fire_alarm")) == []

    refused = await dispatch(api, tid)
    assert refused.status_code == 409
    detail = refused.json()["detail"]
    assert "'tech1' needs a valid 'fire_alarm' certificate" in detail and "has none" in detail

    expired = {"category": "fire_alarm", "number": "FA-001", "valid_until": "2020-12-31"}
    await ok(await director.post("/technicians/tech1/certificates", json=expired), 201)
    assert "holds only expired ones" in (await dispatch(api, tid)).json()["detail"]

    valid = {"category": "fire_alarm", "number": "FA-002", "valid_until": "2099-12-31"}
    await ok(await director.post("/technicians/tech2/certificates", json=valid), 201)
    qualified = await ok(await dispatcher.get("/technicians?qualified_for=fire_alarm"))
    assert [t["username"] for t in qualified] == ["tech2"]
    assert (await ok(await dispatch(api, tid, "tech2")))["technician"] == "tech2"
    # A product of a category the policy does not name takes anyone.
    await site(api, "SN-TV-1", agreement=False, category="television")
    assert (await ok(await dispatch(api, await ticket(api, "SN-TV-1"))))["status"] == "dispatched"


async def test_technicians_are_listed_with_their_jobs_and_certificates_are_kept_by_supervisors(
    api: Api,
) -> None:
    dispatcher, clerk = await api.users("disp1", "clerk1")
    tid = str((await ok(await clerk.post("/tickets", json=call_in_body()), 201))["id"])
    await ok(await dispatch(api, tid, "tech1"))
    everyone = await ok(await dispatcher.get("/technicians"))
    jobs = {t["username"]: (t["open_jobs"], t["in_the_field"]) for t in everyone}
    assert jobs == {"tech1": (1, 1), "tech2": (0, 0)}
    free = await ok(await dispatcher.get("/technicians?available=true"))
    assert [t["username"] for t in free] == ["tech2"]
    busy = await ok(await dispatcher.get("/technicians?available=false"))
    assert [t["username"] for t in busy] == ["tech1"]

    body = {"category": "elevator", "number": "EL-9", "valid_until": "2099-01-01"}
    assert (await dispatcher.post("/technicians/tech1/certificates", json=body)).status_code == 403
    manager = await api.as_user("mgr1")
    assert (await manager.post("/technicians/nobody/certificates", json=body)).status_code == 404
    assert (await manager.post("/technicians/dir1/certificates", json=body)).status_code == 404
    bad = await manager.post("/technicians/tech1/certificates", json={**body, "category": "Lift!"})
    assert bad.status_code == 422 and "category" in bad.text
    await ok(await manager.post("/technicians/tech1/certificates", json=body), 201)
    held = await ok(await dispatcher.get("/technicians/tech1/certificates"))
    assert [(c["category"], c["recorded_by"]) for c in held] == [("elevator", "mgr1")]
