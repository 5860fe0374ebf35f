"""The customer's documents as PDF (issue 14): voucher (R5), product receipt (R7), repair card
(R8), invoice (R21) and complaint reply (R25), in the customer's language.

ReportLab lays them out; its CID font STSong-Light prints Chinese (and Latin) with no font file
to ship or embed, so `make run` needs no system package. Labels come from the same gettext
catalogue as the messages (`activities/locale`); times are written the language's way in the
office's time zone. Everything a person typed is escaped before it reaches a paragraph.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import (
    Flowable,
    Image,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from activities.customer_messages import translations, when
from models.documents import DocumentKind, TicketPapers
from models.messages import Language
from models.tables import TimelineRecord
from store.files import FileStore, FilesUnavailable

log = logging.getLogger("aftersales.documents")
FONT = "STSong-Light"
LATIN_FONT = "Helvetica"
IMAGE_WIDTH = 80 * mm
SIGNATURE_HEIGHT = 25 * mm


def _(text: str) -> str:
    """Marks a label for the catalogue; it is translated when a document is rendered."""
    return text


TITLES = {
    DocumentKind.VOUCHER: _("Service voucher"),
    DocumentKind.RECEIPT: _("Product receipt"),
    DocumentKind.REPAIR_CARD: _("Repair card"),
    DocumentKind.INVOICE: _("Invoice"),
    DocumentKind.COMPLAINT_REPLY: _("Reply to your complaint"),
}
LABELS = [
    _("After-sales service"),
    _("Request"),
    _("Customer"),
    _("Phone"),
    _("Address"),
    _("Product"),
    _("Serial number"),
    _("Problem"),
    _("Technician"),
    _("Arrived"),
    _("Completed"),
    _("Work done"),
    _("Labour (minutes)"),
    _("Parts"),
    _("Part"),
    _("Quantity"),
    _("Unit price"),
    _("Amount"),
    _("Amount due"),
    _("Customer's signature"),
    _("Receipt number"),
    _("Received"),
    _("Promised back by"),
    _("Round"),
    _("Recorded"),
    _("Notes"),
    _("Inspection"),
    _("passed"),
    _("failed"),
    _("not inspected yet"),
    _("Photos"),
    _("Invoice number"),
    _("Issued"),
    _("Description"),
    _("Total"),
    _("Payments"),
    _("Method"),
    _("Paid"),
    _("Balance"),
    _("Complaint"),
    _("Your complaint"),
    _("Our reply"),
    _("Replied"),
]
"""Every label the documents print, for the catalogue's completeness test."""


@dataclass(frozen=True)
class Letterhead:
    """How the office prints its papers: the currency and the time zone of its times."""

    currency: str
    timezone: str


ImageOf = Callable[[str], bytes | None]
"""An attachment's or signature's bytes by its storage key; None when it cannot be read."""


def render_pdf(
    kind: DocumentKind,
    papers: TicketPapers,
    language: Language,
    letterhead: Letterhead,
    files: FileStore | None,
) -> bytes:
    """The document as PDF bytes, with the images `files` holds (a picture that cannot be
    read is left out, the document still goes). `papers.available()` must name `kind`."""

    def image_of(key: str) -> bytes | None:
        if files is None:
            return None
        try:
            return files.get(key)
        except (OSError, ValueError, FilesUnavailable):
            log.warning("%s of ticket %s: image %s not readable", kind, papers.ticket.id, key)
            return None

    page = _Page(papers, language, letterhead, image_of)
    body = {
        DocumentKind.VOUCHER: page.voucher,
        DocumentKind.RECEIPT: page.receipt,
        DocumentKind.REPAIR_CARD: page.repair_card,
        DocumentKind.INVOICE: page.invoice,
        DocumentKind.COMPLAINT_REPLY: page.complaint_reply,
    }[kind]()
    out = io.BytesIO()
    title = page.t(TITLES[kind])
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=f"{title} {papers.ticket.number}",
        author=page.t("After-sales service"),
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
    )
    document.build([*page.heading(title), *body])
    return out.getvalue()


@cache
def _font() -> str:
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _latin(text: str) -> bool:
    """Whether the standard Latin font has every character of `text`."""
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _styles() -> dict[str, ParagraphStyle]:
    font = _font()
    return {
        "title": ParagraphStyle("title", fontName=font, fontSize=18, leading=24, spaceAfter=4),
        "small": ParagraphStyle("small", fontName=font, fontSize=9, leading=12),
        "h2": ParagraphStyle("h2", fontName=font, fontSize=12, leading=16, spaceBefore=8),
        "body": ParagraphStyle("body", fontName=font, fontSize=10, leading=14),
    }


class _Page:
    """The parts every document is made of, in one language."""

    def __init__(
        self, papers: TicketPapers, language: Language, letterhead: Letterhead, image_of: ImageOf
    ) -> None:
        self.papers = papers
        self.language = language
        self.letterhead = letterhead
        self.image_of = image_of
        self.t = translations(language).gettext
        self.styles = _styles()

    # --- pieces --------------------------------------------------------------------------

    def text(self, value: object, style: str = "body") -> Paragraph:
        shown = str(value)
        chosen = self.styles[style]
        if _latin(shown):  # a proportional Latin face reads better than the CJK one's Latin
            chosen = ParagraphStyle(f"{style}-latin", parent=chosen, fontName=LATIN_FONT)
        return Paragraph(escape(shown).replace("\n", "<br/>"), chosen)

    def when(self, instant: datetime | str | None) -> str:
        if instant is None:
            return ""
        if isinstance(instant, str):
            instant = datetime.fromisoformat(instant)
        # Babel writes "4:12 AM" with a narrow no-break space, which Latin fonts lack.
        return when(instant, self.language, self.letterhead.timezone).replace("\u202f", " ")

    def money(self, amount: Decimal | str) -> str:
        return f"{self.letterhead.currency} {Decimal(amount):.2f}"

    def facts(self, rows: Iterable[tuple[str, object]]) -> Table:
        """Label-value rows; empty values left out."""
        data = [[self.text(self.t(label)), self.text(value)] for label, value in rows if value]
        table = Table(data, colWidths=[45 * mm, None], hAlign="LEFT")
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
        return table

    def grid(self, header: list[str], rows: list[list[object]], widths: list[Any]) -> Table:
        data = [[self.text(self.t(h), "small") for h in header]]
        data += [[self.text(cell, "small") for cell in row] for row in rows]
        table = Table(data, colWidths=widths, hAlign="LEFT", repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        return table

    def h2(self, label: str) -> Paragraph:
        return self.text(self.t(label), "h2")

    def image(self, key: str | None, height: float | None = None) -> Flowable | None:
        data = self.image_of(key) if key else None
        if not data:
            return None
        reader = ImageReader(io.BytesIO(data))
        width, tall = reader.getSize()
        scale = min(IMAGE_WIDTH / width, (height or IMAGE_WIDTH) / tall)
        return Image(io.BytesIO(data), width * scale, tall * scale, hAlign="LEFT")

    def heading(self, title: str) -> list[Flowable]:
        ticket = self.papers.ticket
        return [
            self.text(self.t("After-sales service"), "small"),
            self.text(title, "title"),
            self.facts(
                [
                    ("Request", ticket.number),
                    ("Customer", ticket.customer_name),
                    ("Phone", ticket.customer_phone),
                    ("Address", ticket.customer_address),
                    ("Product", ticket.product_model),
                    ("Serial number", ticket.product_serial_no),
                ]
            ),
            Spacer(1, 4 * mm),
        ]

    def parts(self, parts: list[dict[str, Any]]) -> list[Flowable]:
        if not parts:
            return []
        rows: list[list[object]] = [
            [
                part.get("description") or part.get("part_no", ""),
                part.get("qty", ""),
                self.money(part["unit_price"]) if part.get("unit_price") is not None else "",
            ]
            for part in parts
        ]
        return [self.h2("Parts"), self.grid(["Part", "Quantity", "Unit price"], rows, [None] * 3)]

    def signature(self, step: TimelineRecord | None) -> list[Flowable]:
        if step is None:
            return []
        typed = step.data.get("customer_signature")
        shown: list[Flowable] = [self.h2("Customer's signature")]
        picture = self.image(step.data.get("signature_image"), SIGNATURE_HEIGHT)
        if picture is not None:
            shown.append(picture)
        if typed:
            shown.append(self.text(f"{typed} — {self.when(step.at)}"))
        return shown

    # --- the documents -------------------------------------------------------------------

    def voucher(self) -> list[Flowable]:
        """R5: what was done, and the customer's signature."""
        papers, ticket = self.papers, self.papers.ticket
        done = papers.last("resolve", "return")
        assert done is not None
        arrived = papers.last("arrive")
        data = done.data
        flow: list[Flowable] = [
            self.facts(
                [
                    ("Problem", ticket.problem),
                    ("Technician", papers.name(ticket.technician)),
                    ("Arrived", self.when(arrived.at) if arrived else None),
                    ("Completed", self.when(done.at)),
                    ("Work done", data.get("work_summary")),
                    ("Labour (minutes)", data.get("labor_minutes")),
                    ("Amount due", self.money(ticket.amount_due)),
                ]
            )
        ]
        if done.action == "return":
            for repair in papers.rounds:
                flow += self.parts(repair.parts)
        else:
            flow += self.parts(data.get("parts", []))
        return flow + self.signature(done)

    def receipt(self) -> list[Flowable]:
        """R7: the product taken in, under its receipt number, signed."""
        receipt = self.papers.receipt
        assert receipt is not None
        return [
            self.facts(
                [
                    ("Receipt number", receipt.number),
                    ("Received", self.when(receipt.issued_at)),
                    ("Promised back by", self.when(receipt.promised_by)),
                    ("Problem", self.papers.ticket.problem),
                ]
            ),
            *self.signature(self.papers.last("carry_in")),
        ]

    def repair_card(self) -> list[Flowable]:
        """R8: every round with its inspection, then the photos."""
        flow: list[Flowable] = []
        for repair in self.papers.rounds:
            recorder = self.papers.name(repair.recorded_by)
            if repair.inspection_passed is None:
                verdict = self.t("not inspected yet")
            else:
                verdict = self.t("passed" if repair.inspection_passed else "failed")
                inspector = self.papers.name(repair.inspected_by)
                verdict += f" — {inspector}, {self.when(repair.inspected_at)}"
                if repair.inspection_notes:
                    verdict += f": {repair.inspection_notes}"
            flow += [
                self.text(f"{self.t('Round')} {repair.round}", "h2"),
                self.facts(
                    [
                        ("Recorded", f"{recorder}, {self.when(repair.recorded_at)}"),
                        ("Notes", repair.notes),
                        ("Labour (minutes)", repair.labor_minutes),
                        ("Amount", self.money(repair.fee)),
                        ("Inspection", verdict),
                    ]
                ),
                *self.parts(repair.parts),
            ]
        pictures = [(photo, self.image(photo.key)) for photo in self.papers.photos if photo.key]
        shown = [(photo, picture) for photo, picture in pictures if picture is not None]
        if shown:
            flow.append(self.h2("Photos"))
            for photo, picture in shown:
                about = photo.about + (f" {photo.ref}" if photo.ref else "")
                flow += [self.text(f"{photo.filename} ({about})", "small"), picture]
        return flow

    def invoice(self) -> list[Flowable]:
        """R21: the numbers, every line, the discount, and what was paid."""
        invoice = self.papers.invoice
        assert invoice is not None
        lines = [
            [line.get("description", ""), self.money(line.get("amount", "0"))]
            for line in invoice.lines
        ]
        paid = sum((p.amount for p in self.papers.payments), Decimal(0))
        flow: list[Flowable] = [
            self.facts(
                [("Invoice number", invoice.number), ("Issued", self.when(invoice.issued_at))]
            ),
            Spacer(1, 3 * mm),
            self.grid(["Description", "Amount"], lines, [None, 45 * mm]),
            Spacer(1, 3 * mm),
            self.facts([("Total", self.money(invoice.amount))]),
        ]
        if self.papers.payments:
            rows: list[list[object]] = [
                [self.when(p.recorded_at), p.method, self.money(p.amount)]
                for p in self.papers.payments
            ]
            flow += [
                self.h2("Payments"),
                self.grid(["Paid", "Method", "Amount"], rows, [None, 35 * mm, 45 * mm]),
                self.facts([("Balance", self.money(invoice.amount - paid))]),
            ]
        return flow

    def complaint_reply(self) -> list[Flowable]:
        """R25: the customer's complaint and our written reply."""
        complaint = self.papers.complaint
        assert complaint is not None and complaint.reply is not None
        reply = complaint.reply
        return [
            self.facts(
                [
                    ("Complaint", complaint.id),
                    ("Received", self.when(complaint.received_at)),
                    ("Replied", self.when(reply.get("at"))),
                ]
            ),
            self.h2("Your complaint"),
            self.text(complaint.text),
            self.h2("Our reply"),
            self.text(reply.get("text", "")),
        ]
