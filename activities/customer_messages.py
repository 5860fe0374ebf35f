"""What a customer reads at each milestone (issue 14, R37): the subject and body of each
message in their language, from gettext catalogues — English in the code, Simplified Chinese in
`activities/locale/zh/LC_MESSAGES/messages.po` — with times in the customer's time zone and
written the way their language writes them (Babel).

Staff preview every message from the API (`GET /messages/templates/{milestone}`); the
notification activities send them.
"""

from __future__ import annotations

import gettext
import io
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from models.messages import Language, Milestone

LOCALES = {Language.ZH: "zh_Hans_CN", Language.EN: "en"}


def _(message: str) -> str:
    """Marks a text for the catalogue; it is translated when a message is rendered."""
    return message


TEMPLATES: dict[Milestone, tuple[str, str]] = {
    Milestone.REGISTERED: (
        _("Your repair request {number} is registered"),
        _(
            "Dear {customer}, we have registered your request {number} for your {product}. "
            "Our technician will be with you by {arrival_due}."
        ),
    ),
    Milestone.DISPATCHED: (
        _("Technician {technician} is on the way"),
        _("Dear {customer}, our technician {technician} is coming for your request {number}."),
    ),
    Milestone.RECEIVED: (
        _("We have received your {product}"),
        _(
            "Dear {customer}, your {product} is in our workshop under receipt {receipt}. "
            "We will have it back to you by {promised_by}."
        ),
    ),
    Milestone.READY: (
        _("Your {product} is ready"),
        _(
            "Dear {customer}, your {product} (request {number}) is repaired and has passed "
            "our inspection. It is ready for return."
        ),
    ),
    Milestone.INVOICED: (
        _("Invoice {invoice} for request {number}"),
        _("Dear {customer}, please find invoice {invoice} of {amount} for request {number}."),
    ),
    Milestone.PROMISED: (
        _("Request {number} will be resolved by {promised_by}"),
        _(
            "Dear {customer}, we could not resolve your request {number} today. We promise to "
            "resolve it by {promised_by}."
        ),
    ),
    Milestone.COMPLAINT_OUTCOME: (
        _("The outcome of your complaint {complaint}"),
        _("Dear {customer}, about your complaint {complaint}: {outcome}"),
    ),
    Milestone.CONTRACT_EXPIRY: (
        _("Your maintenance contract {contract} ends on {ends_on}"),
        _(
            "Dear {customer}, your maintenance contract {contract} for your {product} ends on "
            "{ends_on}. We will visit to renew it; call us to arrange another day."
        ),
    ),
    Milestone.INSPECTION_NOTICE: (
        _("Contract {contract}: preventive inspection of your {product} on {visit_on}"),
        _(
            "Dear {customer}, our technician comes for the preventive inspection of your "
            "{product} on {visit_on}. We will check: {checks}. The system may be out of "
            "service for up to an hour while it is checked; call us to arrange another day."
        ),
    ),
    Milestone.FOLLOW_UP_NOTICE: (
        _("Contract {contract}: follow-up visit for your {product} on {visit_on}"),
        _(
            "Dear {customer}, our technician comes for the follow-up visit of your {product} "
            "on {visit_on}; call us to arrange another day."
        ),
    ),
}

FOLLOW_IT = _("Follow it at {status_link}")
"""Added to the registered message when the customer has a status link."""

SAMPLE: dict[str, Any] = {
    "customer": "Li Lei",
    "number": "T2026-000123",
    "product": "TV-55",
    "technician": "Wang Qiang",
    "arrival_due": datetime(2026, 12, 3, 6, 30, tzinfo=ZoneInfo("UTC")),
    "receipt": "R2026-000045",
    "promised_by": datetime(2026, 12, 5, 9, 0, tzinfo=ZoneInfo("UTC")),
    "invoice": "INV-2026-000078",
    "amount": "CNY 490.00",
    "complaint": "C2026-000012",
    "status_link": "https://service.example.com/status/T2026-000123.example",
    "contract": "MC-2026-0007",
    "ends_on": date(2027, 1, 6),
    "visit_on": date(2026, 12, 9),
    "checks": "front-end devices; cabling; central equipment; system functions",
    "outcome": "the technician will call you before each visit from now on.",
}
"""What a preview fills the blanks with."""


@dataclass(frozen=True)
class Rendered:
    milestone: str
    language: str
    subject: str
    body: str


def render(
    milestone: Milestone, language: Language, values: dict[str, Any], timezone: str
) -> Rendered:
    """The milestone's message in `language`, its times shown in `timezone`."""
    catalogue = translations(language)
    shown = {name: _shown(value, language, timezone) for name, value in values.items()}
    subject, body = TEMPLATES[milestone]
    text = catalogue.gettext(body).format(**shown)
    if milestone is Milestone.REGISTERED and shown.get("status_link"):
        text += " " + catalogue.gettext(FOLLOW_IT).format(**shown)
    return Rendered(
        milestone.value, language.value, catalogue.gettext(subject).format(**shown), text
    )


def _shown(value: Any, language: Language, timezone: str) -> Any:
    """A time or a day the way the language writes it; anything else as it is."""
    if isinstance(value, datetime):
        return when(value, language, timezone)
    if isinstance(value, date):
        return format_date(value, "long", locale=LOCALES[language])
    return value


def when(instant: datetime, language: Language, timezone: str) -> str:
    """A date and time as the language writes it, to the minute."""
    local = instant.astimezone(ZoneInfo(timezone))
    locale = LOCALES[language]
    return (
        f"{format_date(local, 'long', locale=locale)} {format_time(local, 'short', locale=locale)}"
    )


def untranslated(language: Language, texts: list[str] | None = None) -> list[str]:
    """Of `texts` (the message templates by default), those the language's catalogue does not
    translate (none, for a complete one)."""
    if language is Language.EN:
        return []
    catalogue = _catalogue(language)
    if texts is None:
        texts = [text for pair in TEMPLATES.values() for text in pair] + [FOLLOW_IT]
    return [text for text in texts if text not in catalogue or not catalogue[text].string]


@cache
def _catalogue(language: Language) -> Any:
    path = resources.files("activities").joinpath(
        f"locale/{language.value}/LC_MESSAGES/messages.po"
    )
    with path.open("rb") as po:
        return read_po(po, locale=LOCALES[language])


@cache
def translations(language: Language) -> gettext.NullTranslations:
    if language is Language.EN:
        return gettext.NullTranslations()  # the code's texts are the English ones
    compiled = io.BytesIO()
    write_mo(compiled, _catalogue(language))
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)
