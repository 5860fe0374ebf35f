"""Lifecycle benchmark: the product's HTTP ticket lifecycle against a bare Temporal floor.

One process, one embedded in-memory Temporal dev server. Two kinds of "unit", each one whole
on-site paid lifecycle (call-in, dispatch, arrive, resolve with a fee, payment):

- floor:   `bench.floor.FloorWorkflow` driven by the plain SDK client: update-with-start, four
           more updates, two no-op regular activities; the workflow then completes.
- product: POST /tickets, then the dispatch, arrive, resolve (invoiced) and record_payment
           actions over HTTP (httpx) against a real uvicorn serving `api.app.create_app`, with
           a worker from `worker.build_worker` projecting into a SQLite database in a temp dir.

Rounds alternate (floor, product, floor, ...) after one warm-up round of each, every round
running its lifecycles with a bounded concurrency. Printed: lifecycles/s (median over rounds),
p50/p95 latency of one lifecycle, the product/floor ratio, per-step latencies, CPU time per
lifecycle and the history events of one lifecycle of each kind (the product's ticket, and the
workflows it started: its survey card, a customer's message held for the morning). This is a
measurement tool: it checks that every lifecycle ends closed, never how fast. Run it with
`python -m bench.lifecycle --help`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol, TextIO

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import KEEP_ALIVE_SECONDS, create_app
from api.ticket_commands import workflow_id
from bench.floor import (
    STEPS,
    FloorStart,
    FloorStep,
    FloorWorkflow,
    floor_record_call_in,
    floor_record_resolution,
)
from bench.report import percentile, write_section
from bench.stack import free_port
from core.config import Settings
from core.db import make_engine, migrate
from models.roles import Role
from store.users import create_user
from worker import DATA_CONVERTER, build_worker, register_search_attributes
from workflows.survey import survey_workflow_id

BIN = Path(sys.executable).parent
PASSWORD = "bench-password-1"
STAFF = {
    "clerk1": Role.CLERK,
    "disp1": Role.DISPATCHER,
    "tech1": Role.TECHNICIAN,
    "cash1": Role.ACCOUNTANT,
}
TECHNICIAN = "tech1"
CALL_IN: dict[str, Any] = {
    "customer": {"name": "Li Lei", "phone": "13800000000", "address": "1 Ring Road"},
    "zone": "urban",
    "product": {"model": "TV-55", "serial_no": "SN-1"},
    "problem": "no picture",
    "channel": "phone",
}
RESOLVE_PAID: dict[str, Any] = {
    "work_summary": "replaced the signal cable",
    "labor_minutes": 30,  # invoiced: 60.00 at the policy's 120.00 an hour
    "parts": [],
    "customer_signature": "Li Lei",
}
HTTP_TIMEOUT = 60.0
RATIO_GOAL = 0.8  # issue 16


# ---------------------------------------------------------------------------------------------
# Units: one whole lifecycle each, timing its steps into `steps`.


class Unit(Protocol):
    name: str

    async def __call__(self, steps: dict[str, float]) -> None: ...


@contextlib.contextmanager
def timed(steps: dict[str, float], step: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        steps[step] = time.perf_counter() - started


class Floor:
    """The bare Temporal lifecycle, through the SDK client."""

    name = "floor"

    def __init__(self, client: Client, task_queue: str) -> None:
        self.client = client
        self.task_queue = task_queue
        self.last_id = ""

    async def __call__(self, steps: dict[str, float]) -> None:
        unit_id = uuid.uuid4().hex
        start = WithStartWorkflowOperation(
            FloorWorkflow.run,
            FloorStart(unit_id),
            id=f"bench-floor-{unit_id}",
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        with timed(steps, "call_in"):
            await self.client.execute_update_with_start_workflow(
                FloorWorkflow.step, FloorStep("call_in", "clerk1"), start_workflow_operation=start
            )
        handle = await start.workflow_handle()
        for action, actor in (
            ("dispatch", "disp1"),
            ("arrive", TECHNICIAN),
            ("resolve", TECHNICIAN),
            ("record_payment", "cash1"),
        ):
            with timed(steps, action):
                state = await handle.execute_update(FloorWorkflow.step, FloorStep(action, actor))
        if not state.done or state.seq != len(STEPS):
            raise RuntimeError(f"floor lifecycle ended as {state}")
        self.last_id = f"bench-floor-{unit_id}"


def _expect(answer: httpx.Response, code: int, ticket_status: str) -> dict[str, Any]:
    body: Any = answer.json() if answer.content else None
    if answer.status_code != code or not isinstance(body, dict):
        raise RuntimeError(f"{answer.request.url.path}: {answer.status_code} {answer.text[:300]}")
    if body.get("status") != ticket_status:
        raise RuntimeError(f"{answer.request.url.path}: status {body.get('status')!r}")
    return body


class Product:
    """The product's lifecycle, over HTTP, one client (and token) per user."""

    name = "product"

    def __init__(
        self,
        clerk: httpx.AsyncClient,
        disp: httpx.AsyncClient,
        tech: httpx.AsyncClient,
        cashier: httpx.AsyncClient,
    ):
        self.clerk, self.disp, self.tech, self.cashier = clerk, disp, tech, cashier
        self.last_id = ""

    async def __call__(self, steps: dict[str, float]) -> None:
        with timed(steps, "call_in"):
            answer = await self.clerk.post("/tickets", json=CALL_IN)
        ticket_id = _expect(answer, 201, "registered")["id"]
        actions = f"/tickets/{ticket_id}/actions"
        with timed(steps, "dispatch"):
            answer = await self.disp.post(f"{actions}/dispatch", json={"technician": TECHNICIAN})
        _expect(answer, 200, "dispatched")
        with timed(steps, "arrive"):
            answer = await self.tech.post(f"{actions}/arrive", json={})
        _expect(answer, 200, "on_site")
        with timed(steps, "resolve"):
            answer = await self.tech.post(f"{actions}/resolve", json=RESOLVE_PAID)
        due = _expect(answer, 200, "resolved")["amount_due"]
        with timed(steps, "record_payment"):
            payment = {"amount": due, "method": "cash"}
            answer = await self.cashier.post(f"{actions}/record_payment", json=payment)
        _expect(answer, 200, "closed")
        self.last_id = ticket_id


# ---------------------------------------------------------------------------------------------
# CPU accounting: this process (Python, the SDK's Rust core, uvicorn, SQLite) and its children
# (the Temporal dev server), from /proc where there is one.


def _child_pids() -> list[int]:
    pids: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{os.getpid()}/task").iterdir():
            with contextlib.suppress(OSError):
                pids.extend(int(pid) for pid in (task / "children").read_text().split())
    return pids


def children_cpu_seconds() -> float | None:
    """CPU seconds used so far by this process's live children; None without /proc."""
    total, found = 0.0, False
    for pid in _child_pids():
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            found = True
    return total if found else None


# ---------------------------------------------------------------------------------------------
# Rounds and their figures.


@dataclass
class Round:
    kind: str
    lifecycles: int
    wall: float
    latencies: list[float]
    steps: dict[str, list[float]]
    failures: list[str]
    cpu_self: float
    cpu_server: float | None

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.wall if self.wall > 0 else 0.0


async def run_round(unit: Unit, lifecycles: int, concurrency: int) -> Round:
    latencies: list[float] = []
    steps: dict[str, list[float]] = {step: [] for step in STEPS}
    failures: list[str] = []
    pending = iter(range(lifecycles))

    async def lane() -> None:
        for _ in pending:  # shared by the lanes: each lifecycle is taken once
            timings: dict[str, float] = {}
            started = time.perf_counter()
            try:
                await unit(timings)
            except Exception as failure:  # reported, and the round goes on
                failures.append(f"{type(failure).__name__}: {failure}")
                continue
            latencies.append(time.perf_counter() - started)
            for step, seconds in timings.items():
                steps[step].append(seconds)

    cpu_self, cpu_server = time.process_time(), children_cpu_seconds()
    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(max(1, min(concurrency, lifecycles)))))
    wall = time.perf_counter() - started
    server_after = children_cpu_seconds()
    return Round(
        kind=unit.name,
        lifecycles=lifecycles,
        wall=wall,
        latencies=latencies,
        steps=steps,
        failures=failures,
        cpu_self=time.process_time() - cpu_self,
        cpu_server=(
            server_after - cpu_server
            if server_after is not None and cpu_server is not None
            else None
        ),
    )


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else float("nan")


@dataclass
class Summary:
    kind: str
    rounds: list[Round] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        latencies = [s for r in self.rounds for s in r.latencies]
        done = sum(len(r.latencies) for r in self.rounds)
        server = [r.cpu_server for r in self.rounds]
        return {
            "lifecycles_per_s": statistics.median(r.throughput for r in self.rounds),
            "lifecycles_per_s_by_round": [round(r.throughput, 2) for r in self.rounds],
            "latency_ms": {
                "p50": 1000 * percentile(latencies, 50),
                "p95": 1000 * percentile(latencies, 95),
                "max": 1000 * max(latencies, default=float("nan")),
            },
            "step_p50_ms": {
                step: 1000 * percentile([s for r in self.rounds for s in r.steps[step]], 50)
                for step in STEPS
            },
            "cpu_ms_per_lifecycle": {
                "bench_process": _ratio(1000 * sum(r.cpu_self for r in self.rounds), done),
                "temporal_server": (
                    _ratio(1000 * sum(s for s in server if s is not None), done)
                    if all(s is not None for s in server)
                    else None
                ),
            },
            "lifecycles": done,
            "failures": sum(len(r.failures) for r in self.rounds),
        }


# ---------------------------------------------------------------------------------------------
# The two stacks.


@contextlib.asynccontextmanager
async def floor_stack(client: Client) -> AsyncIterator[Floor]:
    task_queue = f"bench-floor-{uuid.uuid4().hex[:8]}"
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[FloorWorkflow],
        activities=[floor_record_call_in, floor_record_resolution],
        graceful_shutdown_timeout=timedelta(seconds=5),
    )
    async with worker:
        yield Floor(client, task_queue)


def _add_staff(engine: Engine) -> None:
    with Session(engine) as db:
        for username, role in STAFF.items():
            create_user(
                db, username=username, password=PASSWORD, full_name=username.title(), roles=[role]
            )


@contextlib.asynccontextmanager
async def _serving(app: FastAPI, port: int) -> AsyncIterator[str]:
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:  # uvicorn exposes only a flag
        if serving.done():
            serving.result()  # raises what stopped it
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


@contextlib.asynccontextmanager
async def product_stack(client: Client, data_dir: Path) -> AsyncIterator[Product]:
    task_queue = f"bench-product-{uuid.uuid4().hex[:8]}"
    await register_search_attributes(client)  # the ticket workflow upserts them
    database_url = f"sqlite:///{data_dir / 'aftersales.db'}"
    engine = make_engine(database_url)
    migrate(engine)
    _add_staff(engine)
    port = free_port()
    settings = Settings(
        api_port=port,
        data_dir=data_dir,
        database_url=database_url,
        temporal_address="unused:0",
        task_queue=task_queue,
        secret_key="bench-signing-key-with-enough-length",
        _env_file=None,
    )
    app = create_app(settings, temporal=client)
    try:
        async with (
            build_worker(client, engine, task_queue),
            _serving(app, port) as base_url,
            contextlib.AsyncExitStack() as clients,
        ):
            anonymous = await clients.enter_async_context(
                httpx.AsyncClient(base_url=base_url, timeout=HTTP_TIMEOUT)
            )
            users: list[httpx.AsyncClient] = []
            for username in STAFF:
                answer = await anonymous.post(
                    "/auth/token", data={"username": username, "password": PASSWORD}
                )
                answer.raise_for_status()
                headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
                users.append(
                    await clients.enter_async_context(
                        httpx.AsyncClient(base_url=base_url, timeout=HTTP_TIMEOUT, headers=headers)
                    )
                )
            yield Product(*users)
    finally:
        engine.dispose()


async def _events(client: Client, workflow_id: str) -> int:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return len(history.events)


async def events_per_lifecycle(client: Client, floor: Floor, product: Product) -> dict[str, Any]:
    """History events of the last lifecycle of each kind: the floor's workflow; the product's
    ticket, its survey card (waiting for its day) and any message it held for the morning."""
    ticket = product.last_id
    held = [
        found.id
        async for found in client.list_workflows("WorkflowType = 'CustomerMessage'")
        if found.id.startswith(f"message-notice:{ticket}:")
    ]
    product_events = {
        "ticket": await _events(client, workflow_id(ticket)),
        "survey": await _events(client, survey_workflow_id(ticket)),
        "held_messages": sum([await _events(client, message) for message in held]),
    }
    return {
        "floor": await _events(client, floor.last_id),
        "product": sum(product_events.values()),
        "product_by_workflow": product_events,
    }


async def still_running(client: Client) -> dict[str, int] | None:
    """Workflows of either kind not completed after the run (visibility is best effort)."""
    try:
        counts: dict[str, int] = {}
        for kind, workflow_type in (("floor", "BenchFloor"), ("product", "Ticket")):
            query = f"WorkflowType = '{workflow_type}' AND ExecutionStatus = 'Running'"
            counts[kind] = (await client.count_workflows(query)).count
        return counts
    except Exception:
        return None


# ---------------------------------------------------------------------------------------------
# Main.


@dataclass
class Options:
    rounds: int
    lifecycles: int
    concurrency: int
    warmup: int
    json: bool
    write: bool


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.lifecycle",
        description="Ticket lifecycles/s through the product's HTTP path vs a bare Temporal "
        "workflow of the same shape, on one embedded Temporal dev server.",
    )
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds of each kind (5)")
    parser.add_argument("--lifecycles", type=int, default=40, help="lifecycles per round (40)")
    parser.add_argument("--concurrency", type=int, default=8, help="lifecycles in flight (8)")
    parser.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="lifecycles in the warm-up round of each kind "
        "(default: twice the concurrency, at most --lifecycles; 0 skips it)",
    )
    parser.add_argument("--json", action="store_true", help="also print a JSON summary")
    parser.add_argument("--no-write", action="store_true", help="leave docs/performance.md alone")
    args = parser.parse_args(argv)
    for name in ("rounds", "lifecycles", "concurrency"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    warmup = min(2 * args.concurrency, args.lifecycles) if args.warmup is None else args.warmup
    return Options(
        args.rounds,
        args.lifecycles,
        args.concurrency,
        max(0, warmup),
        args.json,
        not args.no_write,
    )


def _ms(value: float | None) -> str:
    return "   n/a" if value is None else f"{value:6.1f}"


def _finite(value: Any) -> Any:
    """`value` with nan and infinities as None, so that the JSON stays standard."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def report(
    options: Options, floor: Summary, product: Summary, setup_s: float, out: TextIO
) -> dict[str, Any]:
    f, p = floor.figures(), product.figures()
    paired = [
        _ratio(pr.throughput, fr.throughput)
        for fr, pr in zip(floor.rounds, product.rounds, strict=True)
    ]
    ratio = statistics.median(paired) if paired else float("nan")
    latency_ratio = _ratio(p["latency_ms"]["p50"], f["latency_ms"]["p50"])

    def say(line: str) -> None:
        print(line, file=out)

    say(
        f"\naftersales lifecycle bench: {options.rounds} rounds x {options.lifecycles} lifecycles "
        f"of each, concurrency {options.concurrency}, warm-up {options.warmup}, "
        f"{os.cpu_count()} CPUs, setup {setup_s:.1f} s"
    )
    say(
        f"{'':8} {'lifecycles/s':>12} {'p50 ms':>8} {'p95 ms':>8}   "
        f"{'CPU ms per lifecycle: bench process / temporal server':>30}"
    )
    for name, fig in (("floor", f), ("product", p)):
        cpu = fig["cpu_ms_per_lifecycle"]
        say(
            f"{name:8} {fig['lifecycles_per_s']:12.1f} {fig['latency_ms']['p50']:8.1f} "
            f"{fig['latency_ms']['p95']:8.1f}   {_ms(cpu['bench_process'])} / "
            f"{_ms(cpu['temporal_server'])}"
        )
    say(
        f"product/floor: throughput x{ratio:.3f} (median of {len(paired)} paired rounds; "
        f"floor/product x{_ratio(1, ratio):.2f}), p50 latency x{latency_ratio:.2f}"
    )
    say(f"{'by round':8} floor {f['lifecycles_per_s_by_round']}")
    say(f"{'':8} product {p['lifecycles_per_s_by_round']}")
    say(f"{'step p50':8} " + " ".join(f"{step:>9}" for step in STEPS) + "   (ms)")
    for name, fig in (("floor", f), ("product", p)):
        say(f"{name:8} " + " ".join(f"{fig['step_p50_ms'][s]:9.1f}" for s in STEPS))
    failures = [message for r in floor.rounds + product.rounds for message in r.failures]
    if failures:
        say(f"FAILED lifecycles: {len(failures)}; first: {failures[0]}")
    return {
        "config": {
            "rounds": options.rounds,
            "lifecycles": options.lifecycles,
            "concurrency": options.concurrency,
            "warmup": options.warmup,
            "cpus": os.cpu_count(),
        },
        "floor": f,
        "product": p,
        "ratio": {
            "throughput_product_over_floor": ratio,
            "throughput_by_round": [round(r, 4) for r in paired],
            "latency_p50_product_over_floor": latency_ratio,
        },
        "failures": failures[:10],
    }


def table(summary: dict[str, Any]) -> list[str]:
    """The figures as docs/performance.md shows them."""
    f, p, events = summary["floor"], summary["product"], summary["events_per_lifecycle"]
    ratio = summary["ratio"]["throughput_product_over_floor"]
    lines = [
        "| kind | lifecycles/s | lifecycle p50 ms | CPU ms per lifecycle: process / server "
        "| history events |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, fig, count in (("floor", f, events["floor"]), ("product", p, events["product"])):
        cpu = fig["cpu_ms_per_lifecycle"]
        server = "n/a" if cpu["temporal_server"] is None else f"{cpu['temporal_server']:.0f}"
        lines.append(
            f"| {name} | {fig['lifecycles_per_s']:.1f} | {fig['latency_ms']['p50']:.0f} "
            f"| {cpu['bench_process']:.0f} / {server} | {count} |"
        )
    mark = "" if ratio >= RATIO_GOAL else " ⚠"
    by_workflow = ", ".join(f"{k} {v}" for k, v in events["product_by_workflow"].items())
    return [
        *lines,
        "",
        f"Throughput product/floor: **{ratio:.2f}**{mark} (goal ≥ {RATIO_GOAL}); the product's "
        f"events by workflow: {by_workflow}.",
    ]


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Points file descriptor 1 at stderr, so that a child started meanwhile (the dev server,
    with its banner) keeps stdout for the report."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


async def start_temporal() -> WorkflowEnvironment:
    with stdout_to_stderr():
        return await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(BIN / "temporal"),
            data_converter=DATA_CONVERTER,
            ui=False,
            dev_server_log_level="error",
        )


async def bench(options: Options) -> int:
    """Runs the rounds; the report goes to stdout, or to stderr when stdout gets the JSON."""
    out = sys.stderr if options.json else sys.stdout
    started = time.perf_counter()
    async with contextlib.AsyncExitStack() as stack:
        env = await stack.enter_async_context(await start_temporal())
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        floor = await stack.enter_async_context(floor_stack(env.client))
        product = await stack.enter_async_context(product_stack(env.client, data_dir))
        setup_s = time.perf_counter() - started
        units: tuple[Unit, Unit] = (floor, product)
        if options.warmup:
            for unit in units:
                warm = await run_round(unit, options.warmup, options.concurrency)
                if warm.failures:
                    print(f"warm-up {unit.name}: {warm.failures[0]}", file=sys.stderr)
        summaries = {unit.name: Summary(unit.name) for unit in units}
        for number in range(options.rounds):
            for unit in units:
                measured = await run_round(unit, options.lifecycles, options.concurrency)
                summaries[unit.name].rounds.append(measured)
                print(
                    f"round {number + 1}/{options.rounds} {unit.name:7}: "
                    f"{measured.throughput:7.1f} lifecycles/s, {measured.wall:5.2f} s"
                    + (f", {len(measured.failures)} FAILED" if measured.failures else ""),
                    file=sys.stderr,
                    flush=True,
                )
        summary = report(options, summaries["floor"], summaries["product"], setup_s, out)
        await asyncio.sleep(0.5)  # let the last workflows finish before counting them
        summary["events_per_lifecycle"] = events = await events_per_lifecycle(
            env.client, floor, product
        )
        print(
            f"history events per lifecycle: floor {events['floor']}, product {events['product']}"
            f" {events['product_by_workflow']}",
            file=out,
        )
        summary["still_running"] = await still_running(env.client)
        print(f"workflows still running afterwards: {summary['still_running']}", file=out)
    summary["total_s"] = time.perf_counter() - started
    print(f"total {summary['total_s']:.1f} s", file=out)
    if options.write:
        what = (
            f"{options.rounds} rounds of {options.lifecycles} lifecycles of each kind, "
            f"{options.concurrency} in flight, one in-memory Temporal dev server"
        )
        write_section("bench.lifecycle", "Throughput against the floor", what, table(summary))
    if options.json:
        print(json.dumps(_finite(summary), indent=2))
    return 1 if summary["failures"] else 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(bench(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
