"""`aftersales dev`: the whole product in the foreground, as child processes of this one.

Temporal's dev server (persisted in the data dir, Web UI on) unless an external server is
configured, then one worker and one API. With payload encryption on (AFTERSALES_PAYLOAD_KEYS),
the dev server's Web UI is pointed at the API's codec endpoint, and the API lets the UI's
origin call it. SIGINT or SIGTERM stops them in reverse order; they also receive SIGTERM if
this process dies, so nothing is left orphaned.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from core.config import Settings, private_dir
from core.db import make_engine, migrate
from store.users import bootstrap_admin

BIN = Path(sys.executable).parent
STOP_GRACE_SECONDS = 15
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _spawn(name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    print(f"[aftersales] starting {name}", flush=True)
    return subprocess.Popen(command, env=env, preexec_fn=_die_with_parent)


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _temporal_command(settings: Settings, codec_endpoint: str | None = None) -> list[str]:
    """The dev server; its Web UI decodes payloads at `codec_endpoint` (as the browser
    reaches it) when one is given."""
    codec = ["--ui-codec-endpoint", codec_endpoint] if codec_endpoint else []
    return [
        str(BIN / "temporal"),
        "server",
        "start-dev",
        "--db-filename",
        str((settings.data_dir / "temporal.db").resolve()),
        "--ip",
        "127.0.0.1",
        "--port",
        str(settings.temporal_port),
        "--ui-port",
        str(settings.temporal_ui_port),
        "--namespace",
        settings.temporal_namespace,
        "--log-level",
        "warn",
        *codec,
    ]


def _ui_origins(settings: Settings) -> str:
    """The embedded Web UI's origins, as a browser may name them."""
    port = settings.temporal_ui_port
    return f"http://127.0.0.1:{port},http://localhost:{port}"


class Stack:
    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.stopping = False

    def request_stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = True

    def start(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.children.append((name, _spawn(name, command, env)))

    def died(self) -> str | None:
        return next((name for name, p in self.children if p.poll() is not None), None)

    def wait_until(self, ready: Callable[[], bool], what: str, timeout: float = 90) -> bool:
        deadline = time.monotonic() + timeout
        while not self.stopping and time.monotonic() < deadline:
            if (name := self.died()) is not None:
                print(f"[aftersales] {name} exited while waiting for {what}", file=sys.stderr)
                return False
            if ready():
                return True
            time.sleep(0.2)
        if not self.stopping:
            print(f"[aftersales] gave up waiting for {what}", file=sys.stderr)
        return False

    def stop(self) -> None:
        for name, process in reversed(self.children):
            if process.poll() is None:
                print(f"[aftersales] stopping {name}", flush=True)
                process.terminate()
                try:
                    process.wait(STOP_GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def run_stack(settings: Settings) -> int:
    """Runs until a signal (exit 0) or until a piece dies (exit 1)."""
    private_dir(settings.data_dir)
    stack = Stack()
    signal.signal(signal.SIGINT, stack.request_stop)
    signal.signal(signal.SIGTERM, stack.request_stop)
    env = dict(os.environ)
    address = settings.resolved_temporal_address
    api_host = "127.0.0.1" if settings.api_host in ("0.0.0.0", "::") else settings.api_host
    api_url = f"http://{api_host}:{settings.api_port}"
    # Encrypted payloads: the embedded UI asks the API's codec endpoint to decode them, for an
    # admin signed in with POST /auth/session; the API allows the UI's origin (CORS), unless
    # the user chose the origins.
    codec_endpoint = None
    if settings.embedded_temporal and settings.payload_keys is not None:
        codec_endpoint = f"{api_url}/codec"
        if "codec_cors_origins" not in settings.model_fields_set:
            env["AFTERSALES_CODEC_CORS_ORIGINS"] = _ui_origins(settings)
    try:
        if settings.embedded_temporal:
            stack.start("temporal", _temporal_command(settings, codec_endpoint), env)
            host, port = address.rsplit(":", 1)
            if not stack.wait_until(lambda: _listening(host, int(port)), "Temporal"):
                return 0 if stack.stopping else 1
            env["AFTERSALES_TEMPORAL_ADDRESS"] = address
        engine = make_engine(settings.resolved_database_url)
        migrate(engine)
        bootstrap_admin(engine, settings.admin_password)
        engine.dispose()
        cli = [sys.executable, "-m", "cli"]
        stack.start("worker", [*cli, "worker"], env)
        stack.start("api", [*cli, "api"], env)
        if not stack.wait_until(lambda: _listening(api_host, settings.api_port), "the API"):
            return 0 if stack.stopping else 1
        print(f"[aftersales] API          {api_url}  (docs: {api_url}/docs)", flush=True)
        print(f"[aftersales] Temporal     {address}", flush=True)
        if settings.embedded_temporal:
            print(
                f"[aftersales] Temporal UI  http://127.0.0.1:{settings.temporal_ui_port}",
                flush=True,
            )
        if codec_endpoint:
            print(
                f"[aftersales] codec        {codec_endpoint}  (for the UI: sign in with POST"
                f" /auth/session at {api_url}/docs, and in the UI's Codec Server settings"
                " include cross-origin credentials; docs/deployment.md)",
                flush=True,
            )
        worker_metrics = settings.worker_metrics_address
        print(
            f"[aftersales] metrics      {api_url}/metrics"
            + (f", worker's: http://{worker_metrics}/metrics" if worker_metrics else ""),
            flush=True,
        )
        print(f"[aftersales] data in      {settings.data_dir.resolve()}", flush=True)
        print("[aftersales] running; Ctrl-C stops everything", flush=True)
        while not stack.stopping:
            if (name := stack.died()) is not None:
                print(f"[aftersales] {name} exited; stopping the rest", file=sys.stderr)
                return 1
            time.sleep(0.3)
        return 0
    finally:
        stack.stop()
