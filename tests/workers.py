"""Real `aftersales worker` processes for the crash tests: started as an operator would, and
killed with SIGKILL (no shutdown, no goodbye to Temporal)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

BIN = Path(sys.executable).parent

Spawn = Callable[[str, str], subprocess.Popen[bytes]]
"""Starts a worker: `spawn(name, temporal_address)`; its log is `<name>.log`."""


def temporal_address(env: WorkflowEnvironment) -> str:
    return str(env.client.service_client.config.target_host)


@contextmanager
def worker_processes(
    directory: Path, engine: Engine, task_queue: str, **settings: str
) -> Iterator[Spawn]:
    """Starts `aftersales worker` processes on `engine`'s database and `task_queue`, with the
    given settings as `AFTERSALES_*` variables (`smtp_port="2525"`), logging to `directory`;
    at the end kills any still running and prints every log (shown by pytest when the test
    fails)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERSALES_")} | {
        "AFTERSALES_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "AFTERSALES_TASK_QUEUE": task_queue,
        "AFTERSALES_DATA_DIR": str(directory),
    }
    env |= {f"AFTERSALES_{name.upper()}": value for name, value in settings.items()}
    started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def spawn(name: str, temporal: str) -> subprocess.Popen[bytes]:
        log = directory / f"{name}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [str(BIN / "aftersales"), "worker"],
                env=env | {"AFTERSALES_TEMPORAL_ADDRESS": temporal},
                cwd=directory,
                start_new_session=True,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        started.append((process, log))
        return process

    try:
        yield spawn
    finally:
        for process, log in started:
            if process.poll() is None:
                kill(process)
            print(f"----- {log.name} (pid {process.pid}, exit {process.returncode}) -----")
            print(log.read_text(errors="replace"))


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the worker's whole process group: no shutdown, no goodbye to Temporal."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
