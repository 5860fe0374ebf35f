"""The customer's papers as PDF and their status link (issue 14), over HTTP against a real
Temporal dev server: the service voucher with the signature pad's image (R5), the receipt
(R7), the repair card (R8), the invoice (R21); each once the step that makes it was taken, in
the customer's language, to the roles that read it. The status link shows the customer their
ticket and nothing of anyone else's, and stops working the policy's days after it closes;
its page is checked in headless Chromium at a phone's width."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import httpx
from playwright.async_api import Browser
from pypdf import PdfReader
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from models.tables import TicketRecord
from tests.api.conftest import PASSWORD, Api, call_in_body
from tests.api.test_permissions import EXTRA_USERS, USER_OF

PHONE_SCREEN = {"width": 390, "height": 844}
PROMISED_BY = (datetime.now(UTC) + timedelta(days=3)).isoformat()


def png(width: int = 120, height: int = 40) -> bytes:
    """A small PNG as a signature pad draws it: a dark stroke across a white field."""
    rows = b"".join(
        b"\x00" + bytes(0 if abs(y - height // 2) < 3 else 255 for _ in range(width))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


async def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json() if "json" in answer.headers.get("content-type", "") else answer


def pdf_text(answer: httpx.Response) -> str:
    assert answer.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(answer.content))
    return "\n".join(page.extract_text() for page in reader.pages)


def pictures_in(answer: httpx.Response) -> int:
    reader = PdfReader(io.BytesIO(answer.content))
    return sum(len(page.images) for page in reader.pages)


RESOLVE = {
    "work_summary": "replaced the power board",
    "labor_minutes": 30,
    "parts": [{"part_no": "PB-7", "qty": 1, "unit_price": "80.00"}],
    "customer_signature": "Li Lei",
}


async def on_site(api: Api) -> str:
    """A paid job's steps, tech1 on site: its path."""
    clerk, disp, tech = await api.users("clerk1", "disp1", "tech1")
    ticket = await ok(await clerk.post("/tickets", json=call_in_body()), 201)
    path = f"/tickets/{ticket['id']}/actions"
    await ok(await disp.post(f"{path}/dispatch", json={"technician": "tech1"}))
    await ok(await tech.post(f"{path}/arrive", json={}))
    return path


async def resolved_on_site(api: Api, **signature: object) -> dict[str, Any]:
    """A paid job resolved on site by tech1 with a part, signed by Li Lei."""
    tech = await api.as_user("tech1")
    return await ok(await tech.post(f"{await on_site(api)}/resolve", json=RESOLVE | signature))


async def test_the_voucher_prints_the_work_and_the_signature_pads_image(api: Api) -> None:
    clerk, tech, other = await api.users("clerk1", "tech1", "tech2")
    ticket = await resolved_on_site(api, customer_signature_image=data_url(png()))
    documents = f"/tickets/{ticket['id']}/documents"

    listed = await ok(await clerk.get(documents))
    assert [d["kind"] for d in listed] == ["voucher", "invoice"]
    voucher = await ok(await clerk.get(f"{documents}/voucher.pdf?language=en"))
    printed = pdf_text(voucher)
    for expected in ("Service voucher", ticket["number"], "replaced the power board", "PB-7"):
        assert expected in printed, (expected, printed)
    assert "Li Lei" in printed and pictures_in(voucher) == 1  # typed name and pad image
    # The customer's language by default: Chinese for a caller without a record saying else.
    assert "服务凭证" in pdf_text(await ok(await clerk.get(f"{documents}/voucher.pdf")))

    invoice = pdf_text(await ok(await clerk.get(f"{documents}/invoice.pdf?language=en")))
    assert ticket["invoice"]["number"] in invoice and "CNY 140.00" in invoice

    # R4: the technician reads their job's voucher, not its invoice; another one neither.
    assert (await tech.get(f"{documents}/voucher.pdf")).status_code == 200
    refused = await tech.get(f"{documents}/invoice.pdf")
    assert refused.status_code == 403 and "invoice" in refused.json()["detail"]
    assert [d["kind"] for d in await ok(await tech.get(documents))] == ["voucher"]
    assert (await other.get(f"{documents}/voucher.pdf")).status_code == 404


async def test_a_document_the_ticket_has_not_made_is_404_saying_why(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    ticket = await ok(await clerk.post("/tickets", json=call_in_body()), 201)
    missing = await clerk.get(f"/tickets/{ticket['id']}/documents/voucher.pdf")
    assert missing.status_code == 404
    assert "not resolved or returned yet" in missing.json()["detail"]
    assert (await clerk.get(f"/tickets/{ticket['id']}/documents/menu.pdf")).status_code == 422
    assert (await clerk.get("/tickets/nope/documents/voucher.pdf")).status_code == 404


async def test_a_signature_that_is_not_a_png_is_refused_and_nothing_changes(api: Api) -> None:
    clerk, tech = await api.users("clerk1", "tech1")
    path = await on_site(api)
    resolve = RESOLVE
    gif = "data:image/png;base64," + base64.b64encode(b"GIF89a not a png").decode()
    for image in (gif, "data:image/svg+xml;base64,PHN2Zz4=", data_url(png(2000, 2000)) * 3):
        refused = await tech.post(
            f"{path}/resolve", json=resolve | {"customer_signature_image": image}
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["loc"][-1] == "customer_signature_image"
    forged = resolve | {"signature_image": "sha256/" + "0" * 64}
    assert (await tech.post(f"{path}/resolve", json=forged)).status_code == 422
    after = await ok(await clerk.get(path.removesuffix("/actions")))
    assert after["status"] == "on_site"


async def test_the_status_link_shows_the_customer_their_ticket_and_no_one_elses(
    api: Api, engine: Engine
) -> None:
    clerk, tech = await api.users("clerk1", "tech1")
    ticket = await resolved_on_site(api)
    link = (await ok(await clerk.get(f"/tickets/{ticket['id']}")))["status_link"]
    assert (await ok(await tech.get(f"/tickets/{ticket['id']}")))["status_link"] is None

    shown = await ok(await api.anonymous.get(link))
    assert shown["ticket_number"] == ticket["number"]
    assert (shown["status"], shown["technician"]) == ("resolved", "Tech1")
    assert shown["work_done"] == ["replaced the power board"]
    assert [s["step"] for s in shown["steps"]] == [
        "registered",
        "dispatched",
        "arrive",
        "resolve",
    ]
    assert "tech1" not in str(shown) and "clerk1" not in str(shown)  # no staff accounts
    [voucher, invoice] = shown["documents"]
    assert "服务凭证" in pdf_text(await ok(await api.anonymous.get(voucher["url"])))
    assert invoice["kind"] == "invoice"

    # Another ticket's id under this link's MAC, or a changed MAC, opens nothing.
    token = link.rsplit("/", 1)[1]
    other = await ok(await clerk.post("/tickets", json=call_in_body()), 201)
    for forged in (f"{other['id']}.{token.split('.')[1]}", token[:-2] + "AA"):
        assert (await api.anonymous.get(f"/status/{forged}")).status_code == 404
        assert (
            await api.anonymous.get(f"/status/{forged}/documents/invoice.pdf")
        ).status_code == 404

    # Paid in full, the ticket closes; the link works the policy's 30 days after, then 410.
    acct = await api.as_user("acct1")
    payment = {"amount": ticket["amount_due"], "method": "cash"}
    await ok(await acct.post(f"/tickets/{ticket['id']}/actions/record_payment", json=payment))
    closed = await ok(await api.anonymous.get(link))
    assert closed["status"] == "closed" and closed["link_expires_at"] is not None
    with Session(engine) as db:  # the read model says it ended 31 days ago
        ended = datetime.now(UTC) - timedelta(days=31)
        row = update(TicketRecord).where(col(TicketRecord.id) == ticket["id"])
        db.execute(row.values(ended_at=ended))
        db.commit()
    expired = await api.anonymous.get(link)
    assert expired.status_code == 410 and "expired" in expired.json()["detail"]
    assert (await api.anonymous.get(voucher["url"])).status_code == 410


async def test_the_status_page_reads_on_a_phone_in_the_customers_language(
    api: Api, browser: Browser
) -> None:
    clerk = await api.as_user("clerk1")
    ticket = await resolved_on_site(api)
    link = (await ok(await clerk.get(f"/tickets/{ticket['id']}")))["status_link"]

    page = await browser.new_page(viewport=PHONE_SCREEN)
    try:
        await page.goto(link)
        assert await page.title() == f"您的报修单 {ticket['number']}"
        assert await page.text_content("#status") == "已解决"
        assert await page.text_content("#technician") == "Tech1"
        steps = await page.locator("#steps li").count()
        assert steps == 4
        links = page.locator("#documents a")
        assert await links.count() == 2
        # Nothing wider than the phone: no sideways scrolling.
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE_SCREEN["width"]
        href = await links.first.get_attribute("href")
        assert href is not None
        download = await page.request.get(urljoin(link, href))
        assert download.status == 200 and (await download.body()).startswith(b"%PDF-")

        await page.goto(f"{link}?language=en")
        assert await page.text_content("#status") == "Resolved"
        assert await page.locator("text=What was done").count() == 1
    finally:
        await page.close()


async def test_the_receipt_and_repair_card_print_the_signature_and_the_rounds_photo(
    api: Api,
) -> None:  # R7, R8
    clerk, disp, tech, director = await api.users("clerk1", "disp1", "tech1", "dir1")
    ticket = await ok(await clerk.post("/tickets", json=call_in_body()), 201)
    path = f"/tickets/{ticket['id']}/actions"
    await ok(await disp.post(f"{path}/dispatch", json={"technician": "tech1"}))
    await ok(await tech.post(f"{path}/arrive", json={}))
    carry = {"customer_signature": "Li Lei", "promised_by": PROMISED_BY}
    await ok(
        await tech.post(
            f"{path}/carry_in", json=carry | {"customer_signature_image": data_url(png())}
        )
    )
    documents = f"/tickets/{ticket['id']}/documents"
    receipt = await ok(await clerk.get(f"{documents}/receipt.pdf?language=en"))
    assert "Product receipt" in pdf_text(receipt) and pictures_in(receipt) == 1

    await ok(await tech.post(f"{path}/quote", json={"labor_minutes": 60}))
    await ok(await clerk.post(f"{path}/accept_quote", json={"customer_signature": "Li Lei"}))
    repair = {"labor_minutes": 60, "parts": [], "notes": "resoldered the board"}
    await ok(await tech.post(f"{path}/record_repair", json=repair))
    photo = {"file": ("board.png", png(200, 120), "image/png")}
    uploaded = await tech.post(
        f"/tickets/{ticket['id']}/attachments", files=photo, data={"about": "round", "ref": "1"}
    )
    assert uploaded.status_code == 201, uploaded.text
    await ok(await director.post(f"{path}/inspect", json={"passed": False, "notes": "flickers"}))

    card = await ok(await clerk.get(f"{documents}/repair_card.pdf?language=en"))
    printed = pdf_text(card)
    for expected in ("Repair card", "Round 1", "resoldered the board", "failed", "flickers"):
        assert expected in printed, (expected, printed)
    assert "board.png" in printed and pictures_in(card) == 1


# Written from docs/security.md: the invoice for those who read invoices, the complaint reply
# for those who read complaints, the ticket's own papers for everyone who reads the ticket.
INVOICE_READERS = {"admin", "clerk", "director", "manager", "accountant"}
COMPLAINT_READERS = {"admin", "clerk", "dispatcher", "director", "manager", "vp"}


async def test_each_role_reads_the_documents_docs_security_md_gives_it(api: Api) -> None:
    admin = await api.as_user("admin")
    for username, role in EXTRA_USERS.items():
        user = {"username": username, "password": PASSWORD, "full_name": role, "roles": [role]}
        await ok(await admin.post("/users", json=user), 201)
    ticket = await resolved_on_site(api)
    documents = f"/tickets/{ticket['id']}/documents"
    failures = []
    for role, username in USER_OF.items():
        client = await api.as_user(username)
        for kind, readers, exists in (
            ("voucher", set(USER_OF), True),
            ("invoice", INVOICE_READERS, True),
            ("complaint_reply", COMPLAINT_READERS, False),
        ):
            answer = await client.get(f"{documents}/{kind}.pdf")
            expected = (200 if exists else 404) if role in readers else 403
            if answer.status_code != expected:
                failures.append((role, kind, answer.status_code))
    assert failures == []
    assert (await api.anonymous.get(f"{documents}/voucher.pdf")).status_code == 401
