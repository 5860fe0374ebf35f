"""What the benches write: the machine they ran on, the commit, and their table between a
bench's markers in `bench/README.md` (the section appended the first time)."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import date
from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"


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


def write_section(bench: str, title: str, what: str, lines: list[str], path: Path = README) -> None:
    """Puts `lines` (a Markdown table), after a line saying when, where and `what` was
    measured, between `bench`'s markers in `path`; appends the section titled `title` if
    `path` has none."""
    begin, end = f"<!-- {bench}: begin -->", f"<!-- {bench}: end -->"
    stamp = f"Measured {date.today().isoformat()} at commit {commit()}, on {machine()}; {what}:"
    block = "\n".join([begin, stamp, "", *lines, end])
    readme = path.read_text() if path.exists() else ""
    if begin in readme and end in readme:
        head, rest = readme.split(begin, 1)
        readme = head + block + rest.split(end, 1)[1]
    else:
        readme = readme.rstrip("\n") + f"\n\n# bench: {title}\n\n{block}\n"
    path.write_text(readme)
