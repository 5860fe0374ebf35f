"""The interactive API docs work with no way out to the internet (an intranet, this machine):
Swagger UI and ReDoc render in a real Chromium from assets the app serves itself."""

from __future__ import annotations

from playwright.async_api import Browser, Request, expect

from tests.api.conftest import Api


def at_home(api: Api, url: str) -> bool:
    return url.removeprefix("blob:").startswith(api.base_url)


async def rendered(api: Api, browser: Browser, path: str, selector: str) -> list[str]:
    """Opens `path`, waits until `selector` shows, and returns every URL the page fetched or
    was refused by its content security policy before any network."""
    page = await browser.new_page()
    asked: list[str] = []

    def record(request: Request) -> None:
        asked.append(request.url)

    def refused(request: Request) -> None:
        if request.failure == "csp":  # blocked by the page's policy: never sent
            asked.remove(request.url)

    page.on("request", record)
    page.on("requestfailed", refused)
    await page.goto(f"{api.base_url}{path}")
    await expect(page.locator(selector).first).to_be_visible(timeout=20_000)
    await page.wait_for_load_state("networkidle")
    await page.close()
    return asked


async def test_swagger_ui_renders_every_operation_from_the_apps_own_assets(
    api: Api, browser: Browser
) -> None:
    asked = await rendered(api, browser, "/docs", "#operations-tickets-call_in_tickets_post")
    assert asked and all(at_home(api, url) for url in asked), asked
    assert f"{api.base_url}/openapi.json" in asked


async def test_redoc_renders_from_the_apps_own_assets(api: Api, browser: Browser) -> None:
    asked = await rendered(api, browser, "/redoc", 'h1:has-text("aftersales")')
    assert asked and all(at_home(api, url) for url in asked), asked
