"""The customers' messages in their language (issue 14): every milestone's message exists in
English and Simplified Chinese — the catalogue translates every text, keeping its blanks — and
staff preview them over HTTP, the Chinese characters intact, times in the office's time zone.
"""

from __future__ import annotations

import re

from activities.customer_messages import SAMPLE, TEMPLATES, render, untranslated
from activities.documents import LABELS, TITLES
from api.routes.status import PAGE_LABELS, STATUS_LABELS, STEP_LABELS
from models.messages import Language, Milestone
from tests.api.conftest import Api

BLANK = re.compile(r"\{(\w+)\}")


def test_the_chinese_catalogue_translates_every_text_and_keeps_its_blanks() -> None:
    assert untranslated(Language.ZH) == []
    for milestone in Milestone:
        english = render(milestone, Language.EN, {k: f"<{k}>" for k in SAMPLE}, "UTC")
        chinese = render(milestone, Language.ZH, {k: f"<{k}>" for k in SAMPLE}, "UTC")
        for shown_in, rendered in (("en", english), ("zh", chinese)):
            text = rendered.subject + rendered.body
            assert not BLANK.search(text), (shown_in, milestone)  # every blank filled
        blanks = {name for part in TEMPLATES[milestone] for name in BLANK.findall(part)}
        for name in blanks:
            assert f"<{name}>" in chinese.subject + chinese.body, (milestone, name)


def test_the_chinese_catalogue_translates_every_document_and_status_page_label() -> None:
    # Issue 14: the PDFs and the customer's status page are in their language too.
    labels = [*TITLES.values(), *LABELS, *STATUS_LABELS.values(), *STEP_LABELS.values()]
    assert untranslated(Language.ZH, [*labels, *PAGE_LABELS]) == []


async def test_staff_preview_each_message_in_each_language(api: Api) -> None:
    clerk, technician = await api.users("clerk1", "tech1")
    chinese = await clerk.get("/messages/templates/registered")
    assert chinese.status_code == 200, chinese.text
    preview = chinese.json()
    assert preview["subject"] == "您的报修单 T2026-000123 已登记"
    # 06:30 UTC is 14:30 in Shanghai, written the Chinese way
    assert "2026年12月3日 14:30" in preview["body"] and "技术员" in preview["body"]
    english = (await clerk.get("/messages/templates/registered?language=en")).json()
    assert english["subject"] == "Your repair request T2026-000123 is registered"
    assert "December 3, 2026" in english["body"]
    every = (await clerk.get("/messages/templates")).json()
    assert len(every) == len(Milestone) * len(Language)
    assert (await clerk.get("/messages/templates/registered?language=fr")).status_code == 422
    assert (await clerk.get("/messages/templates/lunch")).status_code == 422
    assert (await technician.get("/messages/templates")).status_code == 403
