"""The console's languages (issue 15): Simplified Chinese and English through a gettext
catalogue — English texts in the code and templates, Chinese in
`api/locale/zh/LC_MESSAGES/console.po`, compiled with Babel when first needed (no compile
step). The choice is remembered in the `lang` cookie (the switcher in the navigation), else
taken from `Accept-Language`, else Chinese.

Python code marks its texts with `_()` and translates them with `translator(lang)`; templates
call `t("...")`. `tests/console/test_language.py` extracts both with Babel and checks the
catalogue translates every one.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.requests import Request

LANG_COOKIE = "lang"
LANGUAGES = {"zh": "zh_Hans_CN", "en": "en"}
"""The console's languages and their Babel locales; the first is the default."""
DEFAULT_LANGUAGE = "zh"
HTML_LANG = {"zh": "zh-Hans", "en": "en"}
CATALOGUE = "locale/zh/LC_MESSAGES/console.po"

Translate = Callable[..., str]


def _(text: str) -> str:
    """Marks a text for the catalogue; it is translated when a page is rendered."""
    return text


def language_of(request: Request) -> str:
    """The language the console speaks to this browser: the `lang` cookie, else the first
    language of `Accept-Language` that the console has, else Chinese."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    for tag in _accepted(request.headers.get("accept-language", "")):
        primary = tag.split("-")[0].split("_")[0].lower()
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


def _accepted(header: str) -> list[str]:
    """The language tags of an `Accept-Language` header, most wanted first."""
    weighted: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")[:20]):
        tag, _sep, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            weighted.append((-quality, position, tag))
    return [tag for _q, _p, tag in sorted(weighted)]


@cache
def catalogue() -> Any:
    """The Chinese catalogue as Babel reads it."""
    path = resources.files("api").joinpath(CATALOGUE)
    with path.open("rb") as po:
        return read_po(po, locale=LANGUAGES["zh"])


@cache
def _translations(lang: str) -> gettext.NullTranslations:
    if lang != "zh":
        return gettext.NullTranslations()  # the code's texts are the English ones
    compiled = io.BytesIO()
    write_mo(compiled, catalogue())
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def translator(lang: str) -> Translate:
    """`t(text, **values)`: `text` in `lang`, its `{names}` filled with `values`."""
    lookup = _translations(lang).gettext

    def t(text: str, **values: Any) -> str:
        translated = lookup(text)
        return translated.format(**values) if values else translated

    return t
