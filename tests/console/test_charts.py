"""The report pages' SVG charts (issue 15, R30): bars scaled to their maximum, a spread's 90th
percentile behind its median, a missing value said in words, and every text escaped (a
technician's or a branch's name is whatever was typed)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from api.console.charts import WIDTH, Bar, bar_chart, column_chart

SVG = "{http://www.w3.org/2000/svg}"


def widths(svg: str) -> list[float]:
    return [float(w) for w in re.findall(r'<rect x="\d+" y="[\d.]+" width="([\d.]+)"', svg)]


def test_bars_are_scaled_to_the_maximum_and_say_their_value() -> None:
    svg = str(bar_chart("Met", [Bar("city", 50, "50 %"), Bar("county", 100, "100 %")], maximum=100))
    room, half, full = widths(svg)[0], widths(svg)[1], widths(svg)[3]
    assert (half, full) == (pytest.approx(room / 2, abs=0.05), room)
    assert ">50 %</text>" in svg and ">100 %</text>" in svg
    assert f'viewBox="0 0 {WIDTH} 60"' in svg and 'width="100%"' in svg
    ET.fromstring(svg.replace("<svg ", f'<svg xmlns="{SVG[1:-1]}" ', 1))  # well-formed


def test_a_spread_draws_its_90th_percentile_behind_its_median() -> None:
    svg = str(bar_chart("Time", [Bar("tech1", 1.0, "1.0 h · 4.0 h", behind=4.0)]))
    track, p90, median = widths(svg)
    assert p90 == track  # the largest value fills the row
    assert median == pytest.approx(track / 4, abs=0.05)
    assert svg.index('fill="#b9cff2"') < svg.index('fill="#1f5fbf"')  # drawn first: behind


def test_a_group_without_a_value_says_so_instead_of_a_bar() -> None:
    svg = str(bar_chart("Fixed", [Bar("tech2", None, "—")], maximum=100, empty="no data"))
    assert len(widths(svg)) == 1  # the track only
    assert ">no data</text>" in svg


def test_every_text_is_escaped() -> None:
    name = '<script>alert("x")</script> & Co'
    svg = str(bar_chart(name, [Bar(name, 1, "<b>1</b>")]))
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;script&gt;" in svg and "&amp; Co" in svg
    column = str(column_chart(name, [Bar(name, 2, "2")]))
    assert "<script>" not in column and 'aria-label="&lt;script&gt;' in column


def test_columns_of_a_histogram_rise_with_their_counts() -> None:
    ages = [Bar("under 1 day", 4, "4"), Bar("1 to 3 days", 2, "2"), Bar("over 7 days", 0, "0")]
    svg = str(column_chart("Backlog", ages))
    heights = [float(h) for h in re.findall(r'height="([\d.]+)" rx', svg)]
    assert heights[0] == 2 * heights[1] and heights[2] == 0
    columns = [float(x) for x in re.findall(r'<rect x="([\d.]+)"', svg)]
    assert all(0 <= x < WIDTH for x in columns)
