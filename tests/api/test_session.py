"""The browser sign-in, POST /auth/session: a cookie that the codec endpoint accepts for an
admin (the Temporal UI in a browser), ended like a bearer token by a reset or a
deactivation, and accepted nowhere else: the JSON API stays bearer only."""

from __future__ import annotations

import asyncio
from http.cookies import SimpleCookie

import httpx
import pytest

from core.codec import payloads_to_json
from tests.api import test_codec_endpoint
from tests.api.conftest import ADMIN_PASSWORD, PASSWORD, Api
from tests.api.test_codec_endpoint import NAME, UI_ORIGIN, plain_payloads

# The API with payload keys, and CORS for UI_ORIGIN.
encrypted_api = test_codec_endpoint.encrypted_api

COOKIE = "aftersales_session"
JSON = {"Content-Type": "application/json"}


def set_cookie(answer: httpx.Response) -> SimpleCookie:
    [header] = answer.headers.get_list("set-cookie")
    cookie = SimpleCookie()
    cookie.load(header)
    assert list(cookie) == [COOKIE], header
    return cookie


async def signed_in(api: Api, username: str, password: str = PASSWORD) -> httpx.AsyncClient:
    """A client holding only the session cookie of `username`: no bearer token."""
    client = httpx.AsyncClient(base_url=api.base_url, timeout=30)
    answer = await client.post("/auth/session", data={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    assert client.cookies.get(COOKIE)
    return client


async def decode(client: httpx.AsyncClient) -> httpx.Response:
    body = payloads_to_json(plain_payloads({"name": NAME}))
    return await client.post("/codec/decode", content=body, headers=JSON)


async def test_sign_in_sets_an_http_only_lax_cookie(encrypted_api: Api) -> None:
    answer = await encrypted_api.anonymous.post(
        "/auth/session", data={"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"username": "admin", "roles": ["admin"]}
    assert answer.headers["cache-control"] == "no-store"
    morsel = set_cookie(answer)[COOKIE]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "lax"
    assert morsel["path"] == "/"
    assert morsel["max-age"] == str(encrypted_api.settings.token_ttl_minutes * 60)
    assert not morsel["secure"]  # served over http here
    assert morsel.value.count(".") == 2  # a signed token, as POST /auth/token gives

    clerk = await encrypted_api.anonymous.post(
        "/auth/session", data={"username": "clerk1", "password": PASSWORD}
    )
    assert clerk.json() == {"username": "clerk1", "roles": ["clerk"]}

    for username, password in (("admin", "wrong-password"), ("nobody", PASSWORD)):
        wrong = await encrypted_api.anonymous.post(
            "/auth/session", data={"username": username, "password": password}
        )
        assert wrong.status_code == 401, wrong.text
        assert "set-cookie" not in wrong.headers
    missing = await encrypted_api.anonymous.post("/auth/session", data={"username": "admin"})
    assert missing.status_code == 422


async def test_the_cookie_decodes_for_an_admin_only(encrypted_api: Api) -> None:
    admin = await signed_in(encrypted_api, "admin", ADMIN_PASSWORD)
    clerk = await signed_in(encrypted_api, "clerk1")
    try:
        answer = await decode(admin)
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "no-store"
        assert (await admin.post("/codec/encode", content=answer.content)).status_code == 200
        refused = await decode(clerk)
        assert refused.status_code == 403 and "admin" in refused.json()["detail"]
        # From the Temporal UI's origin: the answer lets the browser read it, credentials too.
        answer = await admin.post(
            "/codec/decode",
            content=payloads_to_json(plain_payloads(NAME)),
            headers={**JSON, "Origin": UI_ORIGIN, "X-Namespace": "default"},
        )
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == UI_ORIGIN
        assert answer.headers["access-control-allow-credentials"] == "true"
        # A tampered cookie is nobody.
        real = admin.cookies[COOKIE]
        for value in (real[:-2] + ("xx" if not real.endswith("xx") else "yy"), "not-a-token"):
            async with httpx.AsyncClient(
                base_url=encrypted_api.base_url, cookies={COOKIE: value}
            ) as forger:
                forged = await decode(forger)
            assert forged.status_code == 401
            assert "POST /auth/session" in forged.json()["detail"]
        assert (await decode(encrypted_api.anonymous)).status_code == 401
    finally:
        await admin.aclose()
        await clerk.aclose()


async def test_the_cookie_does_not_sign_in_to_the_json_api(encrypted_api: Api) -> None:
    """Only the codec endpoint takes the cookie; a browser sends cookies by itself, so a JSON
    route taking them would be open to cross-site request forgery."""
    admin = await signed_in(encrypted_api, "admin", ADMIN_PASSWORD)
    clerk = await signed_in(encrypted_api, "clerk1")
    try:
        for client, method, path in (
            (clerk, "GET", "/tickets"),
            (clerk, "GET", "/users/me"),
            (admin, "GET", "/users"),
            (admin, "POST", "/users/clerk1/password"),
        ):
            body = {"new_password": "taken-over-1"} if method == "POST" else None
            answer = await client.request(method, path, json=body)
            assert answer.status_code == 401, (path, answer.text)
            assert "bearer token" in answer.json()["detail"]
        # clerk1's password is untouched.
        assert await encrypted_api.token("clerk1", PASSWORD)
    finally:
        await admin.aclose()
        await clerk.aclose()


async def test_sign_out_reset_and_deactivation_end_the_session(encrypted_api: Api) -> None:
    admin_api = await encrypted_api.as_user("admin")
    for username in ("admin2", "admin3"):
        created = await admin_api.post(
            "/users",
            json={
                "username": username,
                "password": PASSWORD,
                "full_name": username,
                "roles": ["admin"],
            },
        )
        assert created.status_code == 201, created.text

    # Sign-out clears the cookie.
    browser = await signed_in(encrypted_api, "admin2")
    assert (await decode(browser)).status_code == 200
    answer = await browser.delete("/auth/session")
    assert answer.status_code == 204, answer.text
    morsel = set_cookie(answer)[COOKIE]
    assert morsel["max-age"] == "0" and morsel["path"] == "/" and morsel.value == ""
    assert COOKIE not in browser.cookies
    assert (await decode(browser)).status_code == 401
    await browser.aclose()
    # Signing out without a session is no error.
    assert (await encrypted_api.anonymous.delete("/auth/session")).status_code == 204

    # An admin's password reset ends the session at once; so does a deactivation.
    browser = await signed_in(encrypted_api, "admin2")
    other = await signed_in(encrypted_api, "admin3")
    assert (await decode(browser)).status_code == 200
    reset = await admin_api.post("/users/admin2/password", json={"new_password": "reset-pass-1"})
    assert reset.status_code == 200, reset.text
    assert (await decode(browser)).status_code == 401
    assert (await decode(other)).status_code == 200
    assert (await admin_api.patch("/users/admin3", json={"active": False})).status_code == 200
    assert (await decode(other)).status_code == 401
    await browser.aclose()
    await other.aclose()

    # Changing one's own password ends one's sessions too.
    browser = await signed_in(encrypted_api, "admin2", "reset-pass-1")
    token = await encrypted_api.token("admin2", "reset-pass-1")
    changed = await browser.post(
        "/users/me/password",
        json={"current_password": "reset-pass-1", "new_password": "changed-pass-1"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert changed.status_code == 200, changed.text
    assert (await decode(browser)).status_code == 401
    await browser.aclose()


async def test_sign_in_is_throttled_like_the_token(encrypted_api: Api) -> None:
    async def sign_in(password: str) -> httpx.Response:
        return await encrypted_api.anonymous.post(
            "/auth/session", data={"username": "disp1", "password": password}
        )

    for _ in range(5):  # the free failures
        assert (await sign_in("wrong-password")).status_code == 401
    locked = await sign_in(PASSWORD)
    assert locked.status_code == 429, locked.text
    assert int(locked.headers["Retry-After"]) >= 1
    assert "set-cookie" not in locked.headers
    token = await encrypted_api.anonymous.post(
        "/auth/token", data={"username": "disp1", "password": PASSWORD}
    )
    assert token.status_code == 429  # one throttle for both ways of signing in
    await asyncio.sleep(int(locked.headers["Retry-After"]) + 0.2)
    assert (await sign_in(PASSWORD)).status_code == 200


@pytest.fixture
def api_overrides() -> dict[str, object]:
    return {"public_url": "https://aftersales.example.com/"}


async def test_the_cookie_is_secure_when_the_api_is_served_over_https(api: Api) -> None:
    answer = await api.anonymous.post(
        "/auth/session", data={"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    assert set_cookie(answer)[COOKIE]["secure"] is True
    cleared = await api.anonymous.delete("/auth/session")
    assert set_cookie(cleared)[COOKIE]["secure"] is True
