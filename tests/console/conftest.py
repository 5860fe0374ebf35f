"""The console against the real API, a worker and a Temporal dev server (the `api` fixture of
tests/api/conftest.py), in Debian's Chromium driven by Playwright (`browser`), or over plain
HTTP with the session cookie where no page needs to run (`Console`)."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.async_api import Page, ViewportSize, expect

from tests.api.conftest import (  # noqa: F401  (fixtures, for the console's tests)
    ADMIN_PASSWORD,
    PASSWORD,
    Api,
    api,
    api_overrides,
    browser,
)

PHONE: ViewportSize = {"width": 390, "height": 844}
DESK: ViewportSize = {"width": 1280, "height": 800}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def sign_in(page: Page, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Signs in by clicking, as a person does, in English."""
    await page.goto(f"{base_url}/console/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()


async def fits(page: Page) -> None:
    """The page needs no horizontal scrolling at its width."""
    overflow = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow} px"


class Console:
    """An HTTP client signed in to the console with the session cookie, as a browser is."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.http = client
        self.csrf = ""

    @classmethod
    async def of(cls, server: Api, username: str) -> Console:
        password = ADMIN_PASSWORD if username == "admin" else PASSWORD
        client = httpx.AsyncClient(
            base_url=server.base_url, timeout=30, headers={"Accept-Language": "en"}
        )
        answer = await client.post(
            "/console/login", data={"username": username, "password": password}
        )
        assert answer.status_code == 303, answer.text
        console = cls(client)
        page = await client.get("/console/tickets")
        console.csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
        return console

    async def post(self, path: str, data: dict[str, Any], csrf: bool = True) -> httpx.Response:
        form = {"csrf_token": self.csrf, **data} if csrf else data
        return await self.http.post(path, data=form)

    async def close(self) -> None:
        await self.http.aclose()
