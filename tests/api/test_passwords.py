"""Passwords and sign-ins (docs/security.md): a user changes their own password, an admin
resets one, and every token issued before a change, a reset or a deactivation stops working
at once; repeated failed sign-ins back off with 429 and `Retry-After`, and a burst of sign-ins
never hashes more than a few passwords at a time."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from api.throttle import Backoff
from core import security as passwords
from tests.api.conftest import PASSWORD, Api

NEW_PASSWORD = "a-brand-new-password"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def sign_in(api: Api, username: str, password: str) -> httpx.Response:
    return await api.anonymous.post(
        "/auth/token", data={"username": username, "password": password}
    )


async def works(api: Api, token: str) -> bool:
    answer = await api.anonymous.get("/users/me", headers=bearer(token))
    assert answer.status_code in (200, 401), answer.text
    return answer.status_code == 200


async def test_a_user_changes_their_own_password_and_older_tokens_stop_working(api: Api) -> None:
    first, second = await api.token("clerk1"), await api.token("clerk1")
    wrong = await api.anonymous.post(
        "/users/me/password",
        headers=bearer(first),
        json={"current_password": "not-it-at-all", "new_password": NEW_PASSWORD},
    )
    assert wrong.status_code == 403 and "current password" in wrong.json()["detail"]
    assert await works(api, first)  # a refused change changes nothing

    changed = await api.anonymous.post(
        "/users/me/password",
        headers=bearer(first),
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 200, changed.text
    fresh = changed.json()["access_token"]
    assert not await works(api, first) and not await works(api, second)
    assert await works(api, fresh)
    assert (await sign_in(api, "clerk1", PASSWORD)).status_code == 401
    assert (await sign_in(api, "clerk1", NEW_PASSWORD)).status_code == 200


async def test_a_new_password_is_checked_like_a_new_users(api: Api) -> None:
    token = await api.token("clerk1")
    short = await api.anonymous.post(
        "/users/me/password",
        headers=bearer(token),
        json={"current_password": PASSWORD, "new_password": "k9#Zq"},
    )
    assert short.status_code == 422
    assert [e["loc"][-1] for e in short.json()["errors"]] == ["new_password"]
    assert "k9#Zq" not in short.text  # the refused password is not echoed back
    assert await works(api, token)


async def test_an_admin_reset_ends_the_users_tokens_at_once(api: Api) -> None:
    token = await api.token("tech1")
    admin = await api.as_user("admin")
    clerk = await api.as_user("clerk1")
    assert (
        await clerk.post("/users/tech1/password", json={"new_password": NEW_PASSWORD})
    ).status_code == 403
    assert await works(api, token)
    reset = await admin.post("/users/tech1/password", json={"new_password": NEW_PASSWORD})
    assert reset.status_code == 200 and reset.json()["username"] == "tech1"
    assert "password" not in reset.text
    assert not await works(api, token)
    assert (await sign_in(api, "tech1", NEW_PASSWORD)).status_code == 200
    missing = await admin.post("/users/ghost/password", json={"new_password": NEW_PASSWORD})
    assert missing.status_code == 404


async def test_deactivation_ends_the_users_tokens_and_reactivation_needs_a_new_sign_in(
    api: Api,
) -> None:
    token = await api.token("disp1")
    admin = await api.as_user("admin")
    assert (await admin.patch("/users/disp1", json={"active": False})).status_code == 200
    assert not await works(api, token)
    assert (await sign_in(api, "disp1", PASSWORD)).status_code == 401
    assert (await admin.patch("/users/disp1", json={"active": True})).status_code == 200
    assert not await works(api, token)  # the old token stays dead
    assert (await sign_in(api, "disp1", PASSWORD)).status_code == 200


async def test_repeated_failures_for_a_username_back_off_with_429(api: Api) -> None:
    for _ in range(5):  # the free failures
        assert (await sign_in(api, "clerk1", "wrong-password")).status_code == 401
    locked = await sign_in(api, "clerk1", "wrong-password")
    assert locked.status_code == 429, locked.text
    assert int(locked.headers["Retry-After"]) >= 1
    # Locked means locked: the right password waits too, and no hash is computed for it.
    right = await sign_in(api, "clerk1", PASSWORD)
    assert right.status_code == 429
    # Another user from the same address is not held back by clerk1's lock.
    assert (await sign_in(api, "disp1", PASSWORD)).status_code == 200
    await asyncio.sleep(int(locked.headers["Retry-After"]) + 0.2)
    assert (await sign_in(api, "clerk1", PASSWORD)).status_code == 200


async def test_repeated_failures_from_one_address_back_off_whatever_the_username(
    api: Api,
) -> None:
    for n in range(20):  # many usernames from one address: a password spray
        answer = await sign_in(api, f"guess{n}", "wrong-password")
        assert answer.status_code == 401
    sprayed = await sign_in(api, "guess-next", "wrong-password")
    assert sprayed.status_code == 429 and int(sprayed.headers["Retry-After"]) >= 1


def test_backoff_doubles_up_to_its_cap_and_a_success_clears_it() -> None:
    now = [1000.0]
    backoff = Backoff(free=2, base=1, cap=8, clock=lambda: now[0])
    waits = []
    for _ in range(7):
        backoff.failed("k")
        waits.append(backoff.retry_after("k"))
    assert waits == [0, 1, 2, 4, 8, 8, 8]
    now[0] += 8
    assert backoff.retry_after("k") == 0
    backoff.succeeded("k")
    backoff.failed("k")
    assert backoff.retry_after("k") == 0  # counting starts again


def test_backoff_forgets_the_oldest_keys_past_its_bound() -> None:
    backoff = Backoff(free=1, max_keys=3, clock=lambda: 0.0)
    for key in "abcd":
        backoff.failed(key)
    assert [backoff.retry_after(k) for k in "abcd"] == [0, 1, 1, 1]


async def test_when_every_hashing_slot_is_taken_a_sign_in_waits_then_answers_503(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # argon2 takes 64 MiB a hash: at most MAX_CONCURRENT_HASHES run at once, the rest wait
    # and, past the wait, are told to come back instead of piling up.
    monkeypatch.setattr(passwords, "WAIT_SECONDS", 0.5)
    taken = [passwords._slots.acquire(timeout=5) for _ in range(passwords.MAX_CONCURRENT_HASHES)]
    assert all(taken)
    try:
        busy = await sign_in(api, "clerk1", PASSWORD)
    finally:
        for _ in taken:
            passwords._slots.release()
    assert busy.status_code == 503 and int(busy.headers["Retry-After"]) >= 1
    assert (await sign_in(api, "clerk1", PASSWORD)).status_code == 200
