"""The report pages' charts (issue 15, R30): small SVG drawn on the server — a horizontal bar
chart (one bar per group, a lighter second bar behind it for a spread's 90th percentile) and a
column chart (a histogram, such as the backlog by age).

Pure functions from numbers to markup: no script and no inline style run in the page (its
policy allows neither), only SVG's own presentation attributes; every text is escaped. The
SVG scales to its card's width by its `viewBox`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 340
"""About a card's width on a desk's three columns and on a phone: the text keeps its size."""
ROW = 30
BAR = 16
LABEL = 92
"""The width kept for the bars' labels, left of the bars."""
LETTER = 7
"""About the width of one letter or digit of the values, to keep room for the longest."""
COLUMNS_HEIGHT = 170
FONT = "system-ui, sans-serif"
BLUE, LIGHT_BLUE, GREEN, AMBER, GREY, INK = (
    "#1f5fbf",
    "#b9cff2",
    "#2f9a5f",
    "#d08a12",
    "#5b6577",
    "#1b2232",
)


@dataclass(frozen=True)
class Bar:
    """One group's value (None: nothing to measure) as the chart writes it (`shown`), and an
    optional second value drawn behind it (a spread's 90th percentile)."""

    label: str
    value: float | None
    shown: str
    behind: float | None = None


def _scale(bars: Sequence[Bar], maximum: float | None) -> float:
    largest = max((v for b in bars for v in (b.value, b.behind) if v is not None), default=0.0)
    return maximum if maximum is not None else largest or 1.0


def _text(x: float, y: float, words: str, **attributes: str) -> str:
    extra = "".join(f' {name.replace("_", "-")}="{value}"' for name, value in attributes.items())
    return f'<text x="{x:g}" y="{y:g}"{extra}>{escape(words)}</text>'


def _letters(words: str) -> int:
    """How many letters wide `words` are: a Chinese character is about two."""
    return sum(2 if ord(letter) >= 0x2E80 else 1 for letter in words)


def _clip(words: str, letters: int) -> str:
    return words if len(words) <= letters else words[: letters - 1] + "…"


def _svg(title: str, height: float, body: list[str]) -> Markup:
    """The chart as one `<svg>` named by `title` for screen readers."""
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height:g}" width="100%" role="img" '
        f'aria-label="{escape(title)}" font-family="{FONT}" font-size="12" fill="{INK}">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def bar_chart(
    title: str,
    bars: Sequence[Bar],
    *,
    maximum: float | None = None,
    colour: str = BLUE,
    empty: str = "",
) -> Markup:
    """One horizontal bar per group, scaled to `maximum` (else to the largest value); a bar
    without a value shows `empty` in its place. The bar's `behind` value is drawn lighter and
    longer behind it."""
    shown = [bar.shown if bar.value is not None else empty for bar in bars]
    longest = max(map(_letters, shown), default=0)
    scale, room = _scale(bars, maximum), WIDTH - LABEL - 8 - LETTER * longest
    body: list[str] = []
    for row, bar in enumerate(bars):
        y = row * ROW + (ROW - BAR) / 2
        middle = y + BAR / 2 + 4
        body.append(_text(LABEL - 8, middle, _clip(bar.label, 13), text_anchor="end"))
        body.append(f'<rect x="{LABEL}" y="{y:g}" width="{room}" height="{BAR}" fill="#f1f3f7"/>')
        ends: list[float] = [LABEL]
        for value, fill in ((bar.behind, LIGHT_BLUE), (bar.value, colour)):
            if value is not None:
                length = max(room * min(value / scale, 1.0), 1.5)
                body.append(
                    f'<rect x="{LABEL}" y="{y:g}" width="{length:.1f}" height="{BAR}" '
                    f'rx="3" fill="{fill}"/>'
                )
                ends.append(LABEL + length)
        fill = GREY if bar.value is None else INK
        body.append(_text(max(ends) + 6, middle, shown[row], fill=fill))
    return _svg(title, max(len(bars), 1) * ROW, body)


def column_chart(title: str, columns: Sequence[Bar], *, colour: str = AMBER) -> Markup:
    """One column per bucket (a histogram), its count above it and its label below."""
    scale = _scale(columns, None)
    width = WIDTH / max(len(columns), 1)
    top, floor = 22, COLUMNS_HEIGHT - 28
    body = [f'<line x1="0" y1="{floor}" x2="{WIDTH}" y2="{floor}" stroke="#c9d0db"/>']
    for place, column in enumerate(columns):
        centre = width * place + width / 2
        height = (floor - top) * (column.value or 0) / scale
        body.append(
            f'<rect x="{centre - width * 0.3:.1f}" y="{floor - height:.1f}" '
            f'width="{width * 0.6:.1f}" height="{height:.1f}" rx="3" fill="{colour}"/>'
        )
        body.append(_text(centre, floor - height - 6, column.shown, text_anchor="middle"))
        label = _clip(column.label, 14)
        body.append(_text(centre, floor + 18, label, text_anchor="middle", fill=GREY))
    return _svg(title, COLUMNS_HEIGHT, body)
