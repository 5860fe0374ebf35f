"""The console as the README shows it (issue 15): the dispatch board and a ticket page at a
desk's width, with a morning's tickets on them, saved under `docs/screenshots/` each run
(`ticket.png`, `dispatch.png`) — so the pictures are of the console as it is. The KPI page's
is saved by `tests/console/test_reports.py`."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, expect

from tests.api.conftest import Api, call_in_body
from tests.console.conftest import DESK, FUSE, new_page, sign_in
from tests.console.test_photos import png

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
STAFF_NAMES = {"disp1": "Zhao Min", "tech1": "Wang Qiang", "tech2": "Chen Jie"}
CALLS = [
    ("Li Lei", "13800000001", "12 Ring Road", "urban", "TV-55", "no picture, sound works"),
    ("Han Mei", "13800000002", "8 Lake Street", "suburban", "AC-2000", "not cooling, fan runs"),
    ("Ann Smith", "13800000003", "3 Garden Lane", "urban", "WM-7", "drum does not turn"),
    ("Zhou Tao", "13800000004", "21 Hill Road", "suburban", "FR-330", "freezer too warm"),
    ("Wu Fang", "13800000005", "5 River Road", "urban", "TV-65", "remote not paired"),
]


async def test_the_board_and_a_ticket_page_as_the_readme_shows_them(
    api: Api, browser: Browser
) -> None:
    admin, clerk, dispatcher, technician, storekeeper = await api.users(
        "admin", "clerk1", "disp1", "tech1", "store1"
    )
    for username, name in STAFF_NAMES.items():
        await admin.patch(f"/users/{username}", json={"full_name": name})
    await storekeeper.post("/parts", json=FUSE)
    tickets = []
    for name, phone, address, zone, model, problem in CALLS:
        body = call_in_body(
            customer={"name": name, "phone": phone, "address": address},
            zone=zone,
            product={"model": model, "serial_no": f"SN-{phone[-4:]}"},
            problem=problem,
        )
        tickets.append((await clerk.post("/tickets", json=body)).json())
    shown = tickets[0]
    steps = f"/tickets/{shown['id']}/actions"
    await dispatcher.post(steps + "/dispatch", json={"technician": "tech1"})
    await dispatcher.post(
        f"/tickets/{tickets[1]['id']}/actions/dispatch", json={"technician": "tech2"}
    )
    await technician.post(steps + "/arrive", json={})
    await technician.post(
        f"/tickets/{shown['id']}/attachments",
        files={"file": ("board.png", png(160, 120), "image/png")},
        data={"note": "the burnt fuse on the power board"},
    )
    resolved = await technician.post(
        steps + "/resolve",
        json={
            "work_summary": "replaced the 5 A fuse on the power board; picture back",
            "labor_minutes": 30,
            "parts": [{"part_no": "FUSE-5A", "qty": 1, "unit_price": "12.50"}],
            "customer_signature": "Li Lei",
        },
    )
    assert resolved.status_code == 200, resolved.text

    SCREENSHOTS.mkdir(exist_ok=True)
    page = await new_page(browser, DESK, [])
    await sign_in(page, api.base_url, "disp1")
    await expect(page.locator("[data-ticket]").first).to_be_visible()
    await page.screenshot(path=SCREENSHOTS / "dispatch.png", full_page=True)
    await page.goto(f"{api.base_url}/console/tickets/{shown['id']}")
    await expect(page.locator("#photos img.thumb")).to_be_visible()
    await page.wait_for_function("document.querySelector('#photos img.thumb').naturalWidth > 0")
    await page.screenshot(path=SCREENSHOTS / "ticket.png", full_page=True)
    await page.close()
    for name in ("dispatch.png", "ticket.png"):
        assert (SCREENSHOTS / name).stat().st_size > 20_000, name
