"""The throughput bench (`bench/lifecycle.py`, issue 16 goal 1) at a tiny size, so it cannot
rot: both kinds run the paid lifecycle to its end, the events of one lifecycle of each are
counted, and the table docs/performance.md gets has both rows. Timings are never checked."""

from __future__ import annotations

import json

import pytest

from bench.lifecycle import main, table


def test_lifecycle_bench_runs_both_kinds_and_counts_their_events(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--rounds", "1", "--lifecycles", "2", "--concurrency", "2", "--warmup", "0"]
    assert main([*argv, "--no-write", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)

    assert summary["floor"]["lifecycles"] == summary["product"]["lifecycles"] == 2
    assert summary["floor"]["failures"] == summary["product"]["failures"] == 0
    assert summary["still_running"] == {"floor": 0, "product": 0}
    events = summary["events_per_lifecycle"]
    by_workflow = events["product_by_workflow"]
    assert by_workflow["ticket"] > events["floor"] > 0  # the ticket does more than the floor
    assert by_workflow["survey"] > 0  # its survey card, waiting for its day
    assert events["product"] == sum(by_workflow.values())
    rows = [line.split(" | ")[0] for line in table(summary) if line.startswith("| ")]
    assert rows[2:] == ["| floor", "| product"]
