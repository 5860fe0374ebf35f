"""The admin's pages (issue 15): users created, changed and given a new password from forms
that go through the same schema and store functions as the JSON API's `/users` (the same
refusals, every session of a user ended by a reset or a deactivation); the policy in force
shown read-only; both for the admin only, every form post with its CSRF token. Each page fits
a phone (390 px) and a desk (1280 px)."""

from __future__ import annotations

import html

import httpx
from playwright.async_api import Browser, expect

from tests.api.conftest import ADMIN_PASSWORD, PASSWORD, Api
from tests.console.conftest import DESK, PHONE, Console, fits, sign_in

USERS = "/console/admin/users"
NEW = {
    "username": "clerk9",
    "full_name": "Wang Fang",
    "roles": ["clerk", "sales"],
    "branch": "city",
    "password": "fresh-pass-9",
}


async def signs_in(api: Api, username: str, password: str) -> bool:
    async with httpx.AsyncClient(base_url=api.base_url) as browser:
        answer = await browser.post(
            "/console/login", data={"username": username, "password": password}
        )
        return answer.status_code == 303


async def test_the_admin_creates_a_user_who_then_signs_in(api: Api) -> None:
    admin = await Console.of(api, "admin")
    try:
        created = await admin.post(USERS, NEW)
        assert (created.status_code, created.headers["location"]) == (303, f"{USERS}?done=created")
        page = await admin.http.get(created.headers["location"])
        assert "User created." in page.text and 'data-user="clerk9"' in page.text
        assert await signs_in(api, "clerk9", "fresh-pass-9")
        listed = (await (await api.as_user("admin")).get("/users", params={"role": "sales"})).json()
        assert [
            (u["username"], u["roles"], u["branch"]) for u in listed if u["username"] == "clerk9"
        ] == [("clerk9", ["clerk", "sales"], "city")]
    finally:
        await admin.close()


async def test_refusals_are_shown_in_words_and_create_nothing(api: Api) -> None:
    admin = await Console.of(api, "admin")
    try:
        weak = await admin.post(USERS, NEW | {"password": "short"})
        assert weak.status_code == 422
        assert "Initial password" in weak.text and 'value="clerk9"' in weak.text  # kept as typed
        unknown = await admin.post(USERS, NEW | {"roles": ["wizard"]})
        assert unknown.status_code == 422 and "<strong>Roles</strong>" in unknown.text
        taken = await admin.post(USERS, NEW | {"username": "clerk1"})
        assert taken.status_code == 409
        assert "a user named &#39;clerk1&#39; already exists" in taken.text
        assert not await signs_in(api, "clerk9", "fresh-pass-9")
        itself = await admin.post(f"{USERS}/admin", {"roles": ["admin"]})  # not active
        assert itself.status_code == 409
        assert "you cannot deactivate yourself" in html.unescape(itself.text)
    finally:
        await admin.close()


async def test_a_reset_password_replaces_the_old_one_and_ends_the_users_sessions(
    api: Api,
) -> None:
    admin, clerk = await Console.of(api, "admin"), await Console.of(api, "clerk1")
    try:
        reset = await admin.post(f"{USERS}/clerk1/password", {"new_password": "another-pass-1"})
        assert (reset.status_code, reset.headers["location"]) == (303, f"{USERS}?done=reset")
        assert not await signs_in(api, "clerk1", PASSWORD)
        assert await signs_in(api, "clerk1", "another-pass-1")
        ended = await clerk.http.get("/console/tickets")
        assert ended.status_code == 303 and ended.headers["location"].startswith("/console/login")
    finally:
        await admin.close()
        await clerk.close()


async def test_a_deactivated_user_can_no_longer_sign_in(api: Api) -> None:
    admin = await Console.of(api, "admin")
    try:
        changed = await admin.post(f"{USERS}/disp1", {"roles": ["dispatcher", "director"]})
        assert (changed.status_code, changed.headers["location"]) == (303, f"{USERS}?done=changed")
        assert not await signs_in(api, "disp1", PASSWORD)
        user = (await (await api.as_user("admin")).get("/users")).json()
        assert [(u["roles"], u["active"]) for u in user if u["username"] == "disp1"] == [
            (["director", "dispatcher"], False)
        ]
    finally:
        await admin.close()


async def test_only_the_admin_opens_the_admin_pages(api: Api) -> None:
    director = await Console.of(api, "dir1")
    try:
        for page in (USERS, "/console/admin/policy"):
            refused = await director.http.get(page)
            assert refused.status_code == 403, page
            assert "Your role does not allow this." in refused.text
        posted = await director.post(USERS, NEW)
        assert posted.status_code == 403
        assert not await signs_in(api, "clerk9", "fresh-pass-9")
    finally:
        await director.close()


async def test_a_form_posted_without_the_csrf_token_is_refused(api: Api) -> None:
    admin = await Console.of(api, "admin")
    try:
        forged = await admin.post(USERS, NEW, csrf=False)
        assert forged.status_code == 403
        assert "This form did not come from your console session" in forged.text
        reset = await admin.post(f"{USERS}/clerk1/password", {"new_password": "x" * 9}, csrf=False)
        assert reset.status_code == 403
        assert not await signs_in(api, "clerk9", "fresh-pass-9")
        assert await signs_in(api, "clerk1", PASSWORD)
    finally:
        await admin.close()


async def test_the_policy_page_shows_each_zones_arrival_hours(api: Api) -> None:
    admin = await Console.of(api, "admin")
    try:
        page = await admin.http.get("/console/admin/policy")
        assert page.status_code == 200
        assert 'data-zone="urban"' in page.text and 'data-zone="suburban"' in page.text
        urban = page.text.split('data-zone="urban"')[1].split("</tr>")[0]
        assert "6 h of working time" in urban  # R12, the shipped policy
        assert "when 80 % of the arrival time has passed" in page.text
        assert 'id="calendar-office"' in page.text and "Asia/Shanghai" in page.text
    finally:
        await admin.close()


async def test_the_admin_pages_fit_a_phone_and_a_desk(api: Api, browser: Browser) -> None:
    for screen in (PHONE, DESK):
        page = await browser.new_page(viewport=screen, locale="en-US")
        await sign_in(page, api.base_url, "admin", ADMIN_PASSWORD)
        await page.get_by_role("link", name="Admin", exact=True).click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Users")
        clerk = page.locator('[data-user="clerk1"]')
        await clerk.get_by_text("Change roles or active").click()
        await clerk.get_by_text("Reset password").click()
        await fits(page)
        await page.get_by_role("link", name="Policy", exact=True).click()
        await page.get_by_text("The whole policy, as the service reads it").click()
        await fits(page)
        await page.close()
