"""The embedded default stack for the benches that drive it over HTTP: `aftersales dev` as
`make run` starts it (the Temporal dev server on its SQLite file, one worker, one API) in a
temporary data dir on free ports, its staff made by the admin, and its processes' memory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
ADMIN_PASSWORD = "bench-admin-secret-1"
PASSWORD = "bench-password-1"
"""Every staff member's password."""
START_TIMEOUT = 120
ZONES = ("urban", "suburban")


@dataclass(frozen=True)
class Stack:
    url: str
    """The API's base URL."""
    pid: int
    """`aftersales dev`'s process, the parent of the three."""

    def processes(self) -> dict[str, int]:
        """The stack's processes by what they run: temporal, worker, api."""
        found: dict[str, int] = {}
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                words = Path(f"/proc/{child}/cmdline").read_bytes().decode().split("\0")
                name = "temporal" if "start-dev" in words else words[-2] if words[-1] == "" else ""
                if name in ("temporal", "worker", "api"):
                    found[name] = int(child)
        return found

    def memory(self) -> dict[str, float]:
        """Each process's resident memory in MiB, by name."""
        return {name: resident_mib(pid) for name, pid in sorted(self.processes().items())}


def call_in(n: int) -> dict[str, object]:
    """The n-th call-in a bench sends: its own customer and product, urban or suburban."""
    return {
        "customer": {"name": f"Customer {n}", "phone": f"139{n:08d}", "address": f"{n} Road"},
        "zone": ZONES[n % 2],
        "product": {"model": "TV-55", "serial_no": f"SC-{n}"},
        "problem": "no picture",
        "channel": "phone",
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def resident_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def running_stack(prefix: str = "bench-stack-") -> Iterator[Stack]:
    """`aftersales dev` in a fresh temporary data dir, once `/health` answers 200; stopped
    with SIGTERM (as Ctrl-C stops `make run`) and the data dir removed on the way out."""
    with tempfile.TemporaryDirectory(prefix=prefix) as data:
        port = free_port()
        env = {
            **os.environ,
            "AFTERSALES_DATA_DIR": data,
            "AFTERSALES_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "AFTERSALES_API_PORT": str(port),
            "AFTERSALES_TEMPORAL_PORT": str(free_port()),
            "AFTERSALES_TEMPORAL_UI_PORT": str(free_port()),
        }
        log = Path(data) / "stack.log"
        with open(log, "wb") as stderr:
            process = subprocess.Popen(
                [str(BIN / "aftersales"), "dev"], env=env, stdout=subprocess.DEVNULL, stderr=stderr
            )
        stack = Stack(url=f"http://127.0.0.1:{port}", pid=process.pid)
        try:
            wait_healthy(stack, process, log)
            yield stack
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)


def wait_healthy(stack: Stack, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{stack.url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"aftersales dev never answered /health with 200:\n{tail}")


async def signed_in(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> None:
    """Gives `client` the bearer token `username` gets from `POST /auth/token`."""
    answer = await client.post("/auth/token", data={"username": username, "password": password})
    answer.raise_for_status()
    client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"


async def make_staff(url: str, staff: dict[str, str]) -> None:
    """Creates each `username: role` of `staff` through the admin's `POST /users`."""
    async with httpx.AsyncClient(base_url=url, timeout=60) as admin:
        await signed_in(admin, "admin", ADMIN_PASSWORD)
        for username, role in staff.items():
            body = {"username": username, "password": PASSWORD, "roles": [role], "full_name": role}
            (await admin.post("/users", json=body)).raise_for_status()
