"""The customer hears from us (issue 14, R37), end to end over HTTP with a real SMTP server: a
carry-in repair's customer who wants email gets the registered, dispatched, received, ready and
invoiced messages once each, in their language — Chinese characters intact in subject and
body — the invoice's email carrying the invoice as PDF, the registered one their status link;
and an English-speaking customer reads English."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from tests.api.conftest import Api, call_in_body
from tests.mail import SmtpServer

PROMISED_BY = (datetime.now(UTC) + timedelta(days=3)).isoformat()


@pytest.fixture
def api_overrides(smtp: SmtpServer) -> dict[str, object]:
    return {"smtp_host": "127.0.0.1", "smtp_port": smtp.port}


async def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def text_of(mail: Any) -> str:
    body = mail.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


async def subjects_to(smtp: SmtpServer, address: str, count: int) -> list[str]:
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        found = [str(m["Subject"]) for m in smtp.messages() if m["To"] == address]
        if len(found) >= count or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.2)


async def test_a_chinese_customer_hears_of_each_milestone_once(api: Api, smtp: SmtpServer) -> None:
    clerk, disp, tech, director = await api.users("clerk1", "disp1", "tech1", "dir1")
    person = {"name": "王芳", "phone": "13600001234", "address": "上海市人民路 8 号"}
    wants = {"email": "wang@example.cn", "language": "zh", "notify_by": "email"}
    await ok(await clerk.post("/customers", json=person | wants), 201)
    product = {"model": "TV-55", "serial_no": "SN-WANG-1"}
    ticket = await ok(
        await clerk.post("/tickets", json=call_in_body(customer=person, product=product)), 201
    )
    path = f"/tickets/{ticket['id']}/actions"
    await ok(await disp.post(f"{path}/dispatch", json={"technician": "tech1"}))
    await ok(await tech.post(f"{path}/arrive", json={}))
    carry = {"customer_signature": "王芳", "promised_by": PROMISED_BY}
    await ok(await tech.post(f"{path}/carry_in", json=carry))
    await ok(await tech.post(f"{path}/quote", json={"labor_minutes": 60}))
    await ok(await clerk.post(f"{path}/accept_quote", json={"customer_signature": "王芳"}))
    repair = {"labor_minutes": 60, "parts": [], "notes": "new capacitor"}
    await ok(await tech.post(f"{path}/record_repair", json=repair))
    await ok(await director.post(f"{path}/inspect", json={"passed": True, "notes": "ok"}))
    returned = await ok(await tech.post(f"{path}/return", json={"customer_signature": "王芳"}))
    invoice = returned["invoice"]["number"]

    subjects = await subjects_to(smtp, "wang@example.cn", 5)
    number = ticket["number"]
    assert sorted(subjects) == sorted(
        [
            f"您的报修单 {number} 已登记",
            "技术员 Tech1 已出发",
            "我们已收到您的 TV-55",
            "您的 TV-55 已修好",
            f"报修单 {number} 的发票 {invoice}",
        ]
    )
    mails = {str(m["Subject"]): m for m in smtp.messages()}
    registered = text_of(mails[f"您的报修单 {number} 已登记"])
    assert "王芳，您好" in registered
    invoiced = mails[f"报修单 {number} 的发票 {invoice}"]
    assert "120.00" in text_of(invoiced)
    [pdf] = [part for part in invoiced.iter_attachments()]
    assert (pdf.get_content_type(), pdf.get_filename()) == (
        "application/pdf",
        f"{number}-invoice.pdf",
    )
    printed = pdf_text(pdf.get_content())
    for expected in ("发票", invoice, number, "workshop repair, round 1", "合计", "CNY 120.00"):
        assert expected in printed, (expected, printed)

    # The registered message's link shows the customer their ticket, and its documents.
    [link] = re.findall(r"https?://\S+/status/\S+", registered)
    status = await ok(await api.anonymous.get(link))
    assert (status["ticket_number"], status["status"]) == (number, "resolved")
    assert status["technician"] == "Tech1"
    kinds = [document["kind"] for document in status["documents"]]
    assert kinds == ["receipt", "repair_card", "voucher", "invoice"]
    await asyncio.sleep(1)
    assert len([m for m in smtp.messages() if m["To"] == "wang@example.cn"]) == 5  # each once


async def test_an_english_speaking_customer_reads_english(api: Api, smtp: SmtpServer) -> None:
    clerk = await api.as_user("clerk1")
    person = {"name": "Ann Lee", "phone": "13600005678", "address": "2 Bund"}
    wants = {"email": "ann@example.com", "language": "en", "notify_by": "email"}
    await ok(await clerk.post("/customers", json=person | wants), 201)
    ticket = await ok(await clerk.post("/tickets", json=call_in_body(customer=person)), 201)
    [subject] = await subjects_to(smtp, "ann@example.com", 1)
    assert subject == f"Your repair request {ticket['number']} is registered"


async def test_a_complaint_replied_by_letter_sends_the_letter_once_as_pdf(
    api: Api, smtp: SmtpServer
) -> None:  # R25: the outcome in writing
    clerk, director = await api.users("clerk1", "dir1")
    person = {"name": "Ann Lee", "phone": "13600007777", "address": "2 Bund"}
    wants = {"email": "ann.lee@example.com", "language": "en", "notify_by": "email"}
    await ok(await clerk.post("/customers", json=person | wants), 201)
    ticket = await ok(await clerk.post("/tickets", json=call_in_body(customer=person)), 201)
    body = {"ticket_id": ticket["id"], "text": "nobody came on time", "received_via": "phone"}
    complaint = await ok(await clerk.post("/complaints", json=body), 201)
    actions = f"/complaints/{complaint['id']}/actions"
    await ok(await director.post(f"{actions}/triage", json={"severity": "general"}))
    reply = {"method": "letter", "text": "We are sorry: your technician now calls ahead."}
    await ok(await clerk.post(f"{actions}/reply", json=reply))

    subject = f"The outcome of your complaint {complaint['id']}"
    subjects = await subjects_to(smtp, "ann.lee@example.com", 2)
    assert subject in subjects
    [letter] = [m for m in smtp.messages() if m["Subject"] == subject]
    assert "your technician now calls ahead" in text_of(letter)
    [pdf] = list(letter.iter_attachments())
    printed = pdf_text(pdf.get_content())
    for expected in ("Reply to your complaint", complaint["id"], "nobody came on time"):
        assert expected in printed, (expected, printed)
    assert "your technician now calls ahead" in printed.replace("\n", " ")
    assert (
        await clerk.get(f"/tickets/{ticket['id']}/documents/complaint_reply.pdf")
    ).status_code == 200
    await asyncio.sleep(1)
    assert len([m for m in smtp.messages() if m["Subject"] == subject]) == 1
