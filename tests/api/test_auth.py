"""Authentication and roles over HTTP (shared/spec/api.md "Authentication and roles"; R4)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from core.security import create_token
from tests.api.conftest import ADMIN_PASSWORD, PASSWORD, Api, call_in_body

# Token checks do not depend on the database; run them on SQLite only to keep the suite fast.


def new_user(
    username: str, roles: list[str], password: str = "new-password-1"
) -> dict[str, object]:
    return {"username": username, "password": password, "full_name": "New Person", "roles": roles}


def assert_unauthorized(answer: httpx.Response) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.headers.get("www-authenticate") == "Bearer"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_good_credentials_get_a_bearer_token_that_works(api: Api) -> None:
    answer = await api.anonymous.post(
        "/auth/token", data={"username": "clerk1", "password": PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "bearer" and body["access_token"]
    listed = await api.anonymous.get("/tickets", headers=bearer(body["access_token"]))
    assert listed.status_code == 200


async def test_bad_credentials_are_401_with_a_bearer_challenge(api: Api) -> None:
    cases = {
        "wrong password": ("clerk1", "not-the-password"),
        "unknown user": ("nobody", PASSWORD),
        "username in another case": ("CLERK1", PASSWORD),
        "admin with a staff password": ("admin", PASSWORD),
    }
    for case, (username, password) in cases.items():
        answer = await api.anonymous.post(
            "/auth/token", data={"username": username, "password": password}
        )
        assert answer.status_code == 401, (case, answer.text)
        assert answer.headers.get("www-authenticate") == "Bearer", case
        # The same answer whether or not the user exists: no probing for usernames.
        assert answer.json() == {"detail": "wrong username or password"}, case


async def test_requests_without_a_valid_token_are_401_with_a_bearer_challenge(api: Api) -> None:
    key = api.settings.secret_key
    assert key
    tokens = {
        "no token": None,
        "garbage token": "not.a.token",
        "expired token": create_token("clerk1", 0, key, timedelta(seconds=-5)),
        "token signed with another key": create_token(
            "clerk1", 0, "some-other-key-of-sufficient-length", timedelta(minutes=5)
        ),
        "token for a user that does not exist": create_token("ghost", 0, key, timedelta(minutes=5)),
        "token of an older token version": create_token("clerk1", -1, key, timedelta(minutes=5)),
    }
    for case, token in tokens.items():
        headers = bearer(token) if token else {}
        for method, path in [("GET", "/tickets"), ("POST", "/tickets"), ("GET", "/users")]:
            answer = await api.anonymous.request(
                method, path, headers=headers, json=call_in_body() if method == "POST" else None
            )
            assert answer.status_code == 401, (case, method, path, answer.text)
            assert answer.headers.get("www-authenticate") == "Bearer", case
    # The same signing key with a live expiry works: the refusals above are about the token.
    fresh = create_token("clerk1", 0, key, timedelta(minutes=5))
    assert (await api.anonymous.get("/tickets", headers=bearer(fresh))).status_code == 200


async def test_admin_is_created_on_first_start_from_the_admin_password(api: Api) -> None:
    answer = await api.anonymous.post(
        "/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    admin = await api.as_user("admin")
    users = (await admin.get("/users")).json()
    assert {"username": "admin", "roles": ["admin"]}.items() <= next(
        u for u in users if u["username"] == "admin"
    ).items()


async def test_only_an_admin_creates_users(api: Api) -> None:
    clerk, admin = await api.as_user("clerk1"), await api.as_user("admin")
    # A clerk may not make themselves (or anyone) an admin.
    refused = await clerk.post("/users", json=new_user("sneaky", ["admin"]))
    assert refused.status_code == 403
    assert "admin" in refused.json()["detail"]
    assert_unauthorized(await api.anonymous.post("/users", json=new_user("anon", ["clerk"])))

    created = await admin.post("/users", json=new_user("clerk9", ["clerk"]) | {"branch": "North"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["username"] == "clerk9" and body["roles"] == ["clerk"]
    assert body["branch"] == "North" and body["full_name"] == "New Person"
    # The sneaky one was never created.
    names = [u["username"] for u in (await admin.get("/users")).json()]
    assert "clerk9" in names and "sneaky" not in names


async def test_user_answers_never_contain_a_password_or_its_hash(api: Api) -> None:
    admin = await api.as_user("admin")
    created = await admin.post("/users", json=new_user("tech9", ["technician"]))
    listed = await admin.get("/users")
    for answer in (created, listed):
        assert answer.status_code in (200, 201)
        text = answer.text.lower()
        assert "password" not in text and "argon2" not in text and "new-password-1" not in text


@pytest.mark.both_databases
async def test_a_taken_username_is_409(api: Api) -> None:
    admin = await api.as_user("admin")
    assert (await admin.post("/users", json=new_user("twin", ["clerk"]))).status_code == 201
    again = await admin.post("/users", json=new_user("twin", ["technician"], "other-pass-2"))
    assert again.status_code == 409
    assert "twin" in again.json()["detail"]
    taken = await admin.post("/users", json=new_user("tech1", ["technician"]))
    assert taken.status_code == 409
    # The original keeps its password and role.
    assert await api.token("twin", "new-password-1")


async def test_a_bad_new_user_is_422_naming_the_field(api: Api) -> None:
    without_password = {k: v for k, v in new_user("x-user", ["clerk"]).items() if k != "password"}
    cases = {
        "unknown role": (new_user("x-user", ["wizard"]), "roles"),
        "no role": (new_user("x-user", []), "roles"),
        "short password": (new_user("x-user", ["clerk"], "short"), "password"),
        "bad username": (new_user("Bad Name!", ["clerk"]), "username"),
        "missing password": (without_password, "password"),
    }
    admin = await api.as_user("admin")
    for case, (body, field) in cases.items():
        answer = await admin.post("/users", json=body)
        assert answer.status_code == 422, (case, answer.text)
        fields = {str(part) for error in answer.json()["errors"] for part in error["loc"]}
        assert field in fields, (case, fields)
    names = [u["username"] for u in (await admin.get("/users")).json()]
    assert "x-user" not in names and "Bad Name!" not in names


async def test_a_new_technician_can_log_in_and_be_dispatched_to(api: Api) -> None:
    # "A technician user is also a technician that can be dispatched; its id is its username."
    admin, clerk, disp = await api.users("admin", "clerk1", "disp1")
    created = await admin.post("/users", json=new_user("newtech", ["technician"]))
    assert created.status_code == 201, created.text
    token = await api.token("newtech", "new-password-1")
    newtech = httpx.AsyncClient(base_url=api.base_url, headers=bearer(token), timeout=30)
    async with newtech:
        tid = (await clerk.post("/tickets", json=call_in_body())).json()["id"]
        # R4
        step = await disp.post(f"/tickets/{tid}/actions/dispatch", json={"technician": "newtech"})
        assert step.status_code == 200, step.text
        assert step.json()["technician"] == "newtech"
        arrived = await newtech.post(f"/tickets/{tid}/actions/arrive", json={})
        assert arrived.status_code == 200, arrived.text
        assert arrived.json()["status"] == "on_site"


async def test_a_clerk_may_not_dispatch_and_a_technician_may_not_call_in(api: Api) -> None:
    clerk, tech = await api.as_user("clerk1"), await api.as_user("tech1")
    tid = (await clerk.post("/tickets", json=call_in_body())).json()["id"]
    # R4: dispatch is a supervisor's step.
    refused = await clerk.post(f"/tickets/{tid}/actions/dispatch", json={"technician": "tech1"})
    assert refused.status_code == 403
    assert "dispatcher" in refused.json()["detail"]
    assert (await clerk.get(f"/tickets/{tid}")).json()["status"] == "registered"
    # R3: call-ins are registered by the office, not by technicians.
    refused = await tech.post("/tickets", json=call_in_body(problem="technician call-in"))
    assert refused.status_code == 403
    assert "clerk" in refused.json()["detail"]


async def test_health_and_api_docs_need_no_token(api: Api) -> None:
    for path in ["/health", "/docs", "/openapi.json"]:
        answer = await api.anonymous.get(path)
        assert answer.status_code == 200, (path, answer.text)
    assert "/auth/token" in (await api.anonymous.get("/openapi.json")).json()["paths"]
