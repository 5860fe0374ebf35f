"""Many open tickets on the embedded default (issue 16, goal 3): `aftersales dev` as
`make run` starts it — the Temporal dev server on its SQLite file, one worker, one API — with
N tickets called in over HTTP and left open, each holding its arrival-deadline timers.

Measured: the call-ins' rate; each process's resident memory (from /proc) before and after,
and per open ticket; and at that size, as one user, `GET /tickets` filters, one ticket, and
one step (a dispatch), p50 and p95. Not in `make bench` (10,000 call-ins take minutes on two
cores); `docs/scaling.md` quotes it. Run with `python -m bench.scale --help`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx

from bench.report import PERFORMANCE, percentile, write_section
from bench.stack import Stack, call_in, make_staff, running_stack, signed_in

STAFF = {"clerk": "clerk", "disp": "dispatcher", "tech": "technician"}
PROBES = 30


async def times(
    client: httpx.AsyncClient, method: str, paths: list[str], **kw: object
) -> list[float]:
    taken = []
    for path in paths:
        started = time.perf_counter()
        answer = await client.request(method, path, **kw)  # type: ignore[arg-type]
        taken.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (path, answer.text[:200])
    return taken


def row(name: str, taken: list[float]) -> str:
    return f"| {name} | {percentile(taken, 50):.1f} | {percentile(taken, 95):.1f} |"


async def drive(stack: Stack, tickets: int, concurrency: int) -> list[str]:
    lines = []
    await make_staff(stack.url, STAFF)
    async with (
        httpx.AsyncClient(base_url=stack.url, timeout=60) as clerk,
        httpx.AsyncClient(base_url=stack.url, timeout=60) as dispatcher,
    ):
        await signed_in(clerk, "clerk")
        await signed_in(dispatcher, "disp")
        ids: list[str] = []
        for n in range(20):  # warm every process up before the first reading
            ids.append((await clerk.post("/tickets", json=call_in(n))).json()["id"])
        before = stack.memory()
        queue = iter(range(20, tickets))
        started = time.perf_counter()

        async def caller() -> None:
            for n in queue:
                answer = await clerk.post("/tickets", json=call_in(n))
                assert answer.status_code == 201, answer.text[:200]
                ids.append(answer.json()["id"])

        await asyncio.gather(*(caller() for _ in range(concurrency)))
        rate = (tickets - 20) / (time.perf_counter() - started)
        await asyncio.sleep(10)  # let the worker's projections and notices settle
        after = stack.memory()
        lines += [
            f"{tickets:,} tickets called in at {rate:.1f}/s ({concurrency} at once), left open.",
            "",
            "| process | RSS before (20 tickets), MiB | RSS after, MiB | KiB per open ticket |",
            "| --- | --- | --- | --- |",
        ]
        for name in after:
            grown = (after[name] - before.get(name, 0.0)) * 1024 / (tickets - 20)
            lines.append(
                f"| {name} | {before.get(name, 0.0):.0f} | {after[name]:.0f} | {grown:.1f} |"
            )
        lists = {
            "GET /tickets?status=registered": "/tickets?status=registered",
            "GET /tickets?zone=suburban": "/tickets?zone=suburban",
            "GET /tickets?order=dispatch": "/tickets?order=dispatch&status=registered",
            "GET /tickets/{id}": f"/tickets/{ids[len(ids) // 2]}",
        }
        lines += ["", "| one user, at that size | p50 ms | p95 ms |", "| --- | --- | --- |"]
        for name, path in lists.items():
            taken = await times(dispatcher, "GET", [path] * PROBES)
            lines.append(
                f"| {name} | {statistics.median(taken):.1f} | {percentile(taken, 95):.1f} |"
            )
        steps = [f"/tickets/{ticket}/actions/dispatch" for ticket in ids[:PROBES]]
        taken = await times(dispatcher, "POST", steps, json={"technician": "tech"})
        lines.append(
            f"| dispatch (a step) | {statistics.median(taken):.1f} | {percentile(taken, 95):.1f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--no-readme", action="store_true", help="leave docs/performance.md alone")
    args = parser.parse_args()
    with running_stack(prefix="bench-scale-") as stack:
        lines = asyncio.run(drive(stack, args.tickets, args.concurrency))
    print("\n".join(lines))
    if not args.no_readme:
        what = "the embedded default (`aftersales dev`: dev server on SQLite, one worker, one API)"
        write_section("bench.scale", "Open tickets on the embedded default", what, lines)
        print(f"written to {PERFORMANCE}")


if __name__ == "__main__":
    main()
