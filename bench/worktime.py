"""Working-time benchmark: `WorkCalendar.add`/`between` against the minute-stepping reference.

One process, fixed seed. The same random inputs go to three kinds, in alternating rounds:

- naive: `models.worktime.naive_add` / `naive_between`, which step minute by minute (the
         reference definition, R12);
- cold:  `WorkCalendar` rebuilt for every operation (nothing cached: a workflow's first call);
- warm:  one `WorkCalendar` reused (its per-date intervals cached: later calls in a workflow).

Inputs: the shipped office calendar (Asia/Shanghai, 08:30–12:00 and 13:00–17:30, Mon–Fri, CN
holidays and make-up days of 2026) from random call-ins over 2026, and an office-hours
calendar in Europe/Berlin from call-ins within a week of its DST changes. `add` adds 1–8
working hours, `between` spans up to five days. Printed: operations/s of each kind (median
over rounds) and fast/naive ratios (median of the per-round ratios). Every fast answer is
checked against the reference; the exit code is 1 only on a mismatch, never for speed. Run it
with `python -m bench.worktime --help`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TextIO

from models.policy import load_policy
from models.worktime import WorkCalendar, naive_add, naive_between

KINDS = ("naive", "cold", "warm")
OPERATIONS = ("add", "between")
BERLIN_DST_CHANGES = (date(2026, 3, 29), date(2026, 10, 25))
YEAR_2026 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    calendar: WorkCalendar
    start: datetime
    amount: timedelta  # for add
    end: datetime  # for between


def office_calendar() -> WorkCalendar:
    return load_policy(None).calendars["office"].resolve([2026])


def berlin_calendar() -> WorkCalendar:
    return WorkCalendar("Europe/Berlin", [0, 1, 2, 3, 4], [[480, 1020]])


def random_cases(count: int, seed: int) -> list[Case]:
    """`count` cases, half on the office calendar over 2026, half in Berlin near DST."""
    rng = random.Random(seed)
    office, berlin = office_calendar(), berlin_calendar()
    cases = []
    for number in range(count):
        if number % 2:
            change = rng.choice(BERLIN_DST_CHANGES)
            around = datetime(change.year, change.month, change.day, tzinfo=UTC)
            start = around + timedelta(minutes=rng.randint(-7 * 1440, 7 * 1440))
            calendar = berlin
        else:
            start = YEAR_2026 + timedelta(minutes=rng.randint(0, 360 * 1440))
            calendar = office
        amount = timedelta(minutes=rng.randint(60, 8 * 60))
        end = start + timedelta(minutes=rng.randint(0, 5 * 1440))
        cases.append(Case(calendar, start, amount, end))
    return cases


def _naive(operation: str) -> Callable[[Case], Any]:
    if operation == "add":
        return lambda case: naive_add(case.calendar, case.start, case.amount)
    return lambda case: naive_between(case.calendar, case.start, case.end)


def _fast(operation: str, fresh: bool) -> Callable[[Case], Any]:
    def calendar_of(case: Case) -> WorkCalendar:
        return dataclasses.replace(case.calendar) if fresh else case.calendar

    if operation == "add":
        return lambda case: calendar_of(case).add(case.start, case.amount)
    return lambda case: calendar_of(case).between(case.start, case.end)


def run_round(kind: str, operation: str, cases: Sequence[Case]) -> tuple[float, list[Any]]:
    """Operations/s of one round of `kind`, and its answers."""
    operate = _naive(operation) if kind == "naive" else _fast(operation, kind == "cold")
    started = time.perf_counter()
    answers = [operate(case) for case in cases]
    return len(cases) / (time.perf_counter() - started), answers


@dataclass
class Options:
    rounds: int
    cases: int
    seed: int
    json: bool


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.worktime",
        description="WorkCalendar.add/between vs the minute-stepping reference, same inputs.",
    )
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds of each kind (5)")
    parser.add_argument("--cases", type=int, default=200, help="inputs per round (200)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (2026)")
    parser.add_argument("--json", action="store_true", help="also print a JSON summary")
    args = parser.parse_args(argv)
    for name in ("rounds", "cases"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    return Options(args.rounds, args.cases, args.seed, args.json)


def measure(options: Options) -> dict[str, Any]:
    """Alternating rounds naive, cold, warm of each operation; rates, ratios and mismatches."""
    cases = random_cases(options.cases, options.seed)
    rates: dict[str, dict[str, list[float]]] = {op: {k: [] for k in KINDS} for op in OPERATIONS}
    mismatches = 0
    for _ in range(options.rounds):
        for operation in OPERATIONS:
            reference: list[Any] = []
            for kind in KINDS:
                rate, answers = run_round(kind, operation, cases)
                rates[operation][kind].append(rate)
                if kind == "naive":
                    reference = answers
                mismatches += sum(a != b for a, b in zip(answers, reference, strict=True))
    return {
        "config": {"rounds": options.rounds, "cases": options.cases, "seed": options.seed},
        "ops_per_s": {
            op: {kind: statistics.median(rates[op][kind]) for kind in KINDS} for op in OPERATIONS
        },
        "fast_over_naive": {
            op: {
                kind: statistics.median(
                    fast / naive
                    for fast, naive in zip(rates[op][kind], rates[op]["naive"], strict=True)
                )
                for kind in ("cold", "warm")
            }
            for op in OPERATIONS
        },
        "mismatches": mismatches,
    }


def report(summary: dict[str, Any], out: TextIO) -> None:
    config, rates, ratios = summary["config"], summary["ops_per_s"], summary["fast_over_naive"]
    print(
        f"\naftersales worktime bench: {config['rounds']} rounds x {config['cases']} cases of "
        f"each operation, seed {config['seed']}, {os.cpu_count()} CPUs",
        file=out,
    )
    print(f"{'ops/s':8} " + " ".join(f"{op:>12}" for op in OPERATIONS), file=out)
    for kind in KINDS:
        print(f"{kind:8} " + " ".join(f"{rates[op][kind]:12.0f}" for op in OPERATIONS), file=out)
    for kind in ("cold", "warm"):
        print(
            f"{kind}/naive " + " ".join(f"{ratios[op][kind]:11.0f}x" for op in OPERATIONS),
            file=out,
        )
    print(f"answers differing from the reference: {summary['mismatches']}", file=out)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    summary = measure(options)
    report(summary, sys.stderr if options.json else sys.stdout)
    if options.json:
        print(json.dumps(summary, indent=2))
    return 1 if summary["mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
