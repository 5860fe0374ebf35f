"""The console against the real API, a worker and a Temporal dev server (the `api` fixture of
tests/api/conftest.py), in Debian's Chromium driven by Playwright (`browser`), or over plain
HTTP with the session cookie where no page needs to run (`Console`)."""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import Browser, Locator, Page, ViewportSize, expect

from tests.api.conftest import (  # noqa: F401  (fixtures, for the console's tests)
    ADMIN_PASSWORD,
    PASSWORD,
    Api,
    api,
    api_overrides,
    browser,
    call_in_body,
)

PHONE: ViewportSize = {"width": 390, "height": 844}
DESK: ViewportSize = {"width": 1280, "height": 800}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

FUSE = {
    "part_no": "FUSE-5A",
    "name": "Fuse 5A",
    "unit_cost": "2.00",
    "list_price": "12.50",
    "stock_on_hand": 10,
}
OFFICE = ZoneInfo("Asia/Shanghai")  # the shipped policy's office calendar


async def new_page(chromium: Browser, screen: ViewportSize, errors: list[str]) -> Page:
    """A page in English; what its scripts report as errors (a script or style the page's
    policy refused, a failed request) goes to `errors`."""
    page = await chromium.new_page(viewport=screen, locale="en-US")
    page.on("console", lambda note: errors.append(note.text) if note.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page


async def sign(page: Page, form: Locator) -> None:
    """Draws a signature on the pad of the step's `form`, as a finger would."""
    pad = form.locator("canvas[data-signature-pad]")
    await pad.scroll_into_view_if_needed()
    box = await pad.bounding_box()
    assert box is not None
    x, y = box["x"] + 20, box["y"] + box["height"] / 2
    await page.mouse.move(x, y)
    await page.mouse.down()
    for step in range(1, 12):
        await page.mouse.move(x + step * 20, y + (12 if step % 2 else -12))
    await page.mouse.up()


async def on_site(server: Api) -> dict[str, Any]:
    """A paid ticket called in by clerk1, dispatched to tech1 and arrived at, over the JSON
    API."""
    clerk, dispatcher, technician = await server.users("clerk1", "disp1", "tech1")
    ticket: dict[str, Any] = (await clerk.post("/tickets", json=call_in_body())).json()
    steps = f"/tickets/{ticket['id']}/actions"
    sent = await dispatcher.post(f"{steps}/dispatch", json={"technician": "tech1"})
    assert sent.status_code == 200, sent.text
    arrived = await technician.post(f"{steps}/arrive", json={})
    assert arrived.status_code == 200, arrived.text
    return ticket


async def sign_in(page: Page, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Signs in by clicking, as a person does, in English."""
    await page.goto(f"{base_url}/console/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()


async def signed_in(
    chromium: Browser,
    screen: ViewportSize,
    errors: list[str],
    base_url: str,
    username: str,
    address: str | None = None,
) -> Page:
    """A new page (`new_page`) signed in as `username` by clicking, then at `address`."""
    page = await new_page(chromium, screen, errors)
    await sign_in(page, base_url, username)
    if address is not None:
        await page.goto(address)
    return page


async def open_step(page: Page, step: str) -> Locator:
    """Opens the step's form on the ticket page."""
    form = page.locator(f"#step-{step}")
    await form.locator("summary").click()
    return form


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
