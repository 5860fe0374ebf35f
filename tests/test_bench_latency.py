"""The latency bench (`bench/latency.py`, issue 16 goal 2) at a tiny size against the real
stack (`aftersales dev`, as `make run` starts it), so it cannot rot: both phases measure every
step of every lifecycle, each lifecycle is paid and closed, and the report has a row for each
step. Timings are never checked."""

from __future__ import annotations

import httpx

from bench.latency import STEPS, measure, report
from bench.stack import ADMIN_PASSWORD, running_stack, signed_in


async def test_latency_bench_measures_every_step_of_paid_lifecycles() -> None:
    with running_stack(prefix="test-bench-latency-") as stack:
        measured = await measure(stack.url, lifecycles=2, users=2, per_user=1, warmup=1)
        async with httpx.AsyncClient(base_url=stack.url, timeout=30) as admin:
            await signed_in(admin, "admin", ADMIN_PASSWORD)
            tickets = (await admin.get("/tickets")).json()

    for phase in (measured.one_user, measured.many_users):
        assert phase.lifecycles == 2
        assert {name: len(times) for name, times in phase.times.items()} == dict.fromkeys(STEPS, 2)
    assert measured.many_users.users == 2
    assert len(tickets) == 5  # the warm-up's one and both phases' two each
    assert {ticket["status"] for ticket in tickets} == {"closed"}
    assert all(ticket["amount_paid"] == ticket["amount_due"] != "0.00" for ticket in tickets)
    rows = [line.split(" | ")[0] for line in report(measured) if line.startswith("| ")]
    assert rows[2:] == [f"| {name}" for name in STEPS]
