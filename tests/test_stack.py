"""`aftersales dev` (what `make run` starts) as a user runs it: real processes, real ports."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.ports import free_port

BIN = Path(sys.executable).parent
ADMIN_PASSWORD = "stack-admin-pw"
START_TIMEOUT = 120


class Stack:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.api_port = free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERSALES_")} | {
            "AFTERSALES_DATA_DIR": str(data_dir),
            "AFTERSALES_API_PORT": str(self.api_port),
            "AFTERSALES_TEMPORAL_PORT": str(free_port()),
            "AFTERSALES_TEMPORAL_UI_PORT": str(free_port()),
            "AFTERSALES_ADMIN_PASSWORD": ADMIN_PASSWORD,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.api_port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(BIN / "aftersales"), "dev"],
            env=self.env,
            cwd=self.data_dir,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "aftersales dev exited during start-up"
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise AssertionError("/health never answered 200")

    def descendants(self) -> set[int]:
        assert self.process is not None
        found, todo = set(), [self.process.pid]
        while todo:
            pid = todo.pop()
            try:
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                continue
            found.update(int(c) for c in children)
            todo.extend(int(c) for c in children)
        return found

    def kill_everything(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def client(self) -> httpx.Client:
        token = httpx.post(
            f"{self.url}/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD}
        ).json()["access_token"]
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = Stack(tmp_path)
    yield running
    if running.process and running.process.poll() is None:
        running.kill_everything()


def test_sigkill_and_restart_loses_no_ticket(stack: Stack) -> None:
    stack.start()
    with stack.client() as admin:
        created = admin.post(
            "/users",
            json={
                "username": "tech9",
                "password": "password-9",
                "full_name": "Tech Nine",
                "roles": ["technician"],
            },
        )
        assert created.status_code == 201
        body = {
            "customer": {"name": "Wang Fang", "phone": "13900000000", "address": "2 Lake Rd"},
            "zone": "suburban",
            "product": {"model": "AC-9", "serial_no": "AC9-1"},
            "problem": "no cooling",
            "channel": "phone",
        }
        ticket = admin.post("/tickets", json=body).json()
        admin.post(f"/tickets/{ticket['id']}/actions/dispatch", json={"technician": "tech9"})
    stack.kill_everything()

    stack.start()
    with stack.client() as admin:
        again = admin.get(f"/tickets/{ticket['id']}")
        assert again.status_code == 200
        assert again.json()["number"] == ticket["number"]
        assert again.json()["status"] == "dispatched"
        # The workflow survived too: its next step still works.
        arrived = admin.post(f"/tickets/{ticket['id']}/actions/arrive", json={})
        assert arrived.status_code == 200 and arrived.json()["status"] == "on_site"


def test_sigterm_stops_every_process(stack: Stack) -> None:
    stack.start()
    children = stack.descendants()
    assert len(children) >= 3  # temporal, worker, api
    assert stack.process is not None
    stack.process.send_signal(signal.SIGTERM)
    assert stack.process.wait(timeout=60) == 0
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in children if _alive(pid)]
