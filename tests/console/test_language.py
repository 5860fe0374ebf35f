"""The console in Simplified Chinese and English (issue 15): the catalogue translates every text
the console shows (extracted with Babel from its modules and templates, as `pybabel extract`
would) and holds no other; the browser's `Accept-Language` chooses the language until the
person picks one in the navigation, which is remembered."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract
from playwright.async_api import Browser, expect

from api.console.i18n import catalogue
from tests.api.conftest import ADMIN_PASSWORD, Api
from tests.console.conftest import DESK, sign_in

API = Path(__file__).resolve().parents[2] / "api"


def console_texts() -> dict[str, str]:
    """Every text the console marks for translation, with where it is."""
    found: dict[str, str] = {}
    for path in sorted((API / "console").glob("*.py")):
        with path.open("rb") as source:
            for line, text, _notes, _context in extract(
                "python", source, keywords={"_": None, "t": None}
            ):
                found.setdefault(str(text), f"{path.name}:{line}")
    for path in sorted((API / "templates" / "console").rglob("*.html")):
        with path.open("rb") as source:
            for line, text, _notes, _context in extract(
                "jinja2.ext:babel_extract", source, keywords={"t": None}
            ):
                found.setdefault(str(text), f"{path.name}:{line}")
    return found


def test_the_catalogue_translates_every_text_of_the_console_and_nothing_else() -> None:
    texts = console_texts()
    translated = {str(m.id): m.string for m in catalogue() if m.id}
    missing = {text: where for text, where in texts.items() if not translated.get(text)}
    assert not missing, f"add these to api/locale/zh/LC_MESSAGES/console.po: {missing}"
    stale = sorted(set(translated) - set(texts))
    assert not stale, f"no longer in the console, remove from console.po: {stale}"
    assert len(texts) > 150  # the extraction found the templates' texts too


async def test_accept_language_chooses_until_a_language_is_picked(api: Api) -> None:
    async def heading(accept: str | None) -> str:
        headers = {"Accept-Language": accept} if accept else {}
        page = await api.anonymous.get("/console/login", headers=headers)
        return page.text

    assert "<h1>登录</h1>" in await heading("zh-CN,zh;q=0.9,en;q=0.8")
    assert "<h1>Sign in</h1>" in await heading("en-GB,en;q=0.9,zh;q=0.5")
    assert "<h1>Sign in</h1>" in await heading("fr-FR, en;q=0.7, zh;q=0.3")
    assert "<h1>登录</h1>" in await heading("fr-FR")  # neither: Chinese
    assert "<h1>登录</h1>" in await heading(None)
    picked = await api.anonymous.get("/console/language/en?next=/console/login")
    assert (picked.status_code, picked.headers["location"]) == (303, "/console/login")
    assert "lang=en" in picked.headers["set-cookie"]
    away = await api.anonymous.get("/console/language/en?next=https://evil.example/")
    assert away.headers["location"] == "/console"


async def test_switching_to_chinese_shows_chinese_labels(api: Api, browser: Browser) -> None:
    page = await browser.new_page(viewport=DESK, locale="en-US")
    await sign_in(page, api.base_url, "admin", ADMIN_PASSWORD)
    await page.get_by_role("link", name="Tickets", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Tickets")
    await page.get_by_role("link", name="中文").click()
    await expect(page).to_have_url(f"{api.base_url}/console/tickets")
    await expect(page.get_by_role("heading", level=1)).to_have_text("工单")
    nav = page.get_by_role("navigation", name="主导航")
    labels = ["调度看板", "来电登记", "工单", "审批", "升级事项", "收款", "报表", "合同", "管理员"]
    await expect(nav.get_by_role("link")).to_have_text(labels)
    await expect(page.get_by_role("button", name="退出登录")).to_be_visible()
    await expect(page.get_by_role("button", name="搜索")).to_be_visible()
    await expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    await page.get_by_role("link", name="来电登记").click()  # remembered on the next page
    await expect(page.get_by_role("heading", level=1)).to_have_text("来电登记")
    await expect(page.get_by_role("button", name="登记来电")).to_be_visible()
    await page.get_by_role("link", name="English").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Call-in")
