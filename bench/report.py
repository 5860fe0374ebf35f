"""What the benches write: the machine they ran on, the commit, and their table between a
bench's markers in `docs/performance.md` (the section appended the first time); and the
percentiles their tables show."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import date
from pathlib import Path

PERFORMANCE = Path(__file__).resolve().parent.parent / "docs" / "performance.md"


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0–100), linearly interpolated; nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs (nproc), {model}"


def commit() -> str:
    try:
        found = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return found.stdout.strip()


def write_section(
    bench: str, title: str, what: str, lines: list[str], path: Path = PERFORMANCE
) -> None:
    """Puts `lines` (a Markdown table), after a line saying when, where and `what` was
    measured, between `bench`'s markers in `path`; appends the section titled `title` if
    `path` has none."""
    begin, end = f"<!-- {bench}: begin -->", f"<!-- {bench}: end -->"
    stamp = f"Measured {date.today().isoformat()} at commit {commit()}, on {machine()}; {what}:"
    block = "\n".join([begin, stamp, "", *lines, end])
    page = path.read_text() if path.exists() else ""
    if begin in page and end in page:
        head, rest = page.split(begin, 1)
        page = head + block + rest.split(end, 1)[1]
    else:
        page = page.rstrip("\n") + f"\n\n## {title}\n\n{block}\n"
    path.write_text(page)
