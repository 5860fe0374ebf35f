"""The console bench (`bench/console.py`, issue 15) at a tiny size, so it cannot rot: every
page it times answers 200, the dispatch board shows every seeded ticket waiting for dispatch,
and the director's navigation counts what the fill left pending for directors."""

from __future__ import annotations

from pathlib import Path

from api.console.dispatch import BOARD_SIZE
from bench.console import NAV_COUNTS, measure


async def test_console_bench_measures_every_page_at_a_small_size(tmp_path: Path) -> None:
    measured = await measure("SQLite", f"sqlite:///{tmp_path / 'bench.db'}", 200, 3, warmup=1)

    seeded = measured.seeded
    assert 0 < seeded.waiting < BOARD_SIZE  # all of them fit on the board
    assert measured.statuses == {name: {200} for name in measured.statuses}
    assert len(measured.statuses) == 6
    assert all(len(times) == 3 for times in measured.times.values())
    assert NAV_COUNTS in measured.times
    assert measured.board_waiting == seeded.waiting
    assert measured.nav_counts["approvals"] == seeded.pending_approvals
    assert measured.nav_counts["escalations"] == seeded.open_escalations["director"]
