"""How long each human step of a paid on-site repair takes, as its user waits for it (issue
16, goal 2), on the embedded default a new user gets from `make run`.

`aftersales dev` runs in a temporary data dir (`bench.stack`); the admin makes a clerk, a
dispatcher, an accountant and a technician for each user. One lifecycle is the five steps,
each one HTTP request whose time is measured from sending it to its whole answer:

- **call-in**: the clerk's `POST /tickets` (201, `registered`);
- **dispatch**: the dispatcher's `POST /tickets/{id}/actions/dispatch` to the user's
  technician (`dispatched`);
- **arrive**: the technician's `.../actions/arrive` (`on_site`);
- **resolve**: the technician's `.../actions/resolve`, 30 minutes of labour signed by the
  customer and not collected on site: `resolved`, invoiced, an amount owing;
- **payment**: the accountant's `.../actions/record_payment` of what is owed (`closed`).

Every answer's status code and ticket status are checked. After a warm-up (one user), two
phases: one user running lifecycles one after another, then N users at once, each a lane of
its own clients and tokens running its lifecycles one after another. Printed, and written
to `docs/performance.md`: p50, p95 and p99 of each step in each phase and the lifecycles/s;
⚠ marks a figure over the issue's goal (one user: median ≤ 60 ms and p95 ≤ 150 ms; twenty
users: p95 ≤ 500 ms). Timings are never checked: the exit code is 1 only if a lifecycle
fails. Run with `python -m bench.latency --help`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from bench.report import PERFORMANCE, percentile, write_section
from bench.stack import call_in, make_staff, running_stack, signed_in

STEPS = ("call-in", "dispatch", "arrive", "resolve", "payment")
ONE_USER_P50_MS = 60
ONE_USER_P95_MS = 150
MANY_USERS_P95_MS = 500
RESOLVE = {
    "work_summary": "replaced the fuse",
    "labor_minutes": 30,
    "parts": [],
    "customer_signature": "Li Lei",
}


class LifecycleFailed(Exception):
    """A step answered with another status code or left the ticket in another status."""


@dataclass(frozen=True)
class Phase:
    users: int
    lifecycles: int
    """Lifecycles run, each to `closed`."""
    seconds: float
    times: dict[str, list[float]]
    """Each step's times in ms, by step."""

    @property
    def rate(self) -> float:
        return self.lifecycles / self.seconds


@dataclass(frozen=True)
class Measured:
    one_user: Phase
    many_users: Phase


@dataclass(frozen=True)
class Lane:
    """One user's clients, each signed in as the staff member taking its steps."""

    clerk: httpx.AsyncClient
    dispatcher: httpx.AsyncClient
    technician: httpx.AsyncClient
    accountant: httpx.AsyncClient
    technician_name: str


def technician(lane: int) -> str:
    return f"tech-{lane}"


@asynccontextmanager
async def lane(url: str, number: int) -> AsyncIterator[Lane]:
    async with AsyncExitStack() as clients:
        staff = ("clerk", "disp", technician(number), "acct")
        signed = [
            await clients.enter_async_context(httpx.AsyncClient(base_url=url, timeout=60))
            for _ in staff
        ]
        await asyncio.gather(*(signed_in(c, name) for c, name in zip(signed, staff, strict=True)))
        clerk, dispatcher, tech, accountant = signed
        yield Lane(clerk, dispatcher, tech, accountant, technician(number))


async def step(
    client: httpx.AsyncClient,
    times: dict[str, list[float]],
    name: str,
    path: str,
    body: dict[str, Any],
    expected: tuple[int, str],
) -> dict[str, Any]:
    """Sends one step, checks its answer's status code and the ticket's status, and adds
    its time to `times[name]`."""
    started = time.perf_counter()
    answer = await client.post(path, json=body)
    taken = (time.perf_counter() - started) * 1000
    ticket: dict[str, Any] = answer.json()
    if (answer.status_code, ticket.get("status")) != expected:
        raise LifecycleFailed(f"{name} {path}: {answer.status_code} {answer.text[:300]}")
    times[name].append(taken)
    return ticket


async def lifecycle(lane: Lane, n: int, times: dict[str, list[float]]) -> None:
    """One paid on-site repair, call-in to payment, as its four staff members take it."""
    ticket = await step(lane.clerk, times, "call-in", "/tickets", call_in(n), (201, "registered"))
    actions = f"/tickets/{ticket['id']}/actions"
    dispatch = {"technician": lane.technician_name}
    await step(
        lane.dispatcher, times, "dispatch", f"{actions}/dispatch", dispatch, (200, "dispatched")
    )
    await step(lane.technician, times, "arrive", f"{actions}/arrive", {}, (200, "on_site"))
    resolved = await step(
        lane.technician, times, "resolve", f"{actions}/resolve", RESOLVE, (200, "resolved")
    )
    owed = Decimal(resolved["amount_due"]) - Decimal(resolved["amount_paid"])
    if resolved["invoice"] is None or owed <= 0:
        raise LifecycleFailed(f"resolve left nothing to pay: {resolved['invoice']}, {owed}")
    payment = {"amount": str(owed), "method": "cash"}
    await step(
        lane.accountant, times, "payment", f"{actions}/record_payment", payment, (200, "closed")
    )


async def run_phase(url: str, users: int, per_user: int, numbers: Iterator[int]) -> Phase:
    """`users` lanes at once, each running `per_user` lifecycles one after another (signed
    in before the clock starts)."""
    times: dict[str, list[float]] = {name: [] for name in STEPS}
    async with AsyncExitStack() as lanes:
        ready = [await lanes.enter_async_context(lane(url, user)) for user in range(users)]

        async def run(one: Lane) -> None:
            for _ in range(per_user):
                await lifecycle(one, next(numbers), times)

        started = time.perf_counter()
        await asyncio.gather(*(run(one) for one in ready))
        seconds = time.perf_counter() - started
    return Phase(users, users * per_user, seconds, times)


async def measure(url: str, lifecycles: int, users: int, per_user: int, warmup: int) -> Measured:
    """Makes the staff on the stack at `url`, warms it up with `warmup` lifecycles, then
    runs both phases: `lifecycles` by one user, `per_user` by each of `users` at once."""
    staff = {"clerk": "clerk", "disp": "dispatcher", "acct": "accountant"}
    await make_staff(url, staff | {technician(n): "technician" for n in range(max(users, 1))})
    numbers = itertools.count()
    if warmup:
        await run_phase(url, 1, warmup, numbers)
    one_user = await run_phase(url, 1, lifecycles, numbers)
    many_users = await run_phase(url, users, per_user, numbers)
    return Measured(one_user, many_users)


def figures(values: list[float], p50_limit: float | None, p95_limit: float) -> list[str]:
    """p50, p95 and p99 in ms, each over its limit marked ⚠."""
    limits = {50: p50_limit, 95: p95_limit, 99: None}
    shown = []
    for q, limit in limits.items():
        value = percentile(values, q)
        shown.append(f"{value:.1f}" + (" ⚠" if limit is not None and value > limit else ""))
    return shown


def report(measured: Measured) -> list[str]:
    """The Markdown lines: what ran, then each step's figures in both phases."""
    one, many = measured.one_user, measured.many_users
    return [
        f"One user: {one.lifecycles} lifecycles one after another, {one.rate:.2f} lifecycles/s;"
        f" {many.users} users at once: {many.lifecycles // many.users} lifecycles each,"
        f" {many.rate:.2f} lifecycles/s. ⚠: over the goal (one user: median ≤"
        f" {ONE_USER_P50_MS} ms, p95 ≤ {ONE_USER_P95_MS} ms; {many.users} users: p95 ≤"
        f" {MANY_USERS_P95_MS} ms).",
        "",
        f"| step | one user p50 ms | p95 ms | p99 ms | {many.users} users p50 ms | p95 | p99 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *(
            "| "
            + " | ".join(
                [
                    name,
                    *figures(one.times[name], ONE_USER_P50_MS, ONE_USER_P95_MS),
                    *figures(many.times[name], None, MANY_USERS_P95_MS),
                ]
            )
            + " |"
            for name in STEPS
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lifecycles", type=int, default=40, help="one user's lifecycles")
    parser.add_argument("--users", type=int, default=20, help="users at once in phase two")
    parser.add_argument("--per-user", type=int, default=10, help="lifecycles of each of them")
    parser.add_argument("--warmup", type=int, default=5, help="lifecycles before measuring")
    parser.add_argument("--no-write", action="store_true", help="leave docs/performance.md alone")
    args = parser.parse_args()
    try:
        with running_stack(prefix="bench-latency-") as stack:
            measured = asyncio.run(
                measure(stack.url, args.lifecycles, args.users, args.per_user, args.warmup)
            )
    except LifecycleFailed as failed:
        sys.exit(f"a lifecycle failed: {failed}")
    lines = report(measured)
    print("\n".join(lines))
    if not args.no_write:
        what = (
            "the embedded default (`aftersales dev`: dev server on SQLite, one worker, one API),"
            " over HTTP, a paid on-site repair: call-in, dispatch, arrive, resolve, payment"
        )
        write_section("bench.latency", "Each step's latency on the embedded default", what, lines)
        print(f"written to {PERFORMANCE}")


if __name__ == "__main__":
    main()
