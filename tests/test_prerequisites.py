"""scripts/test_prerequisites.py, run as `make test` runs it: a throwaway PostgreSQL when none
answers, one line and no tests when Chromium is missing and cannot be installed."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import POSTGRES_ADMIN_URL

SCRIPT = Path(__file__).parents[1] / "scripts" / "test_prerequisites.py"

# The command the script runs: logs in through the URL it was handed, writes what it saw to
# argv[1], then exits with status argv[2] (or waits to be interrupted, given "wait").
CHILD = """
import json, os, sys, time
from pathlib import Path
from sqlalchemy import create_engine, text

url = os.environ["AFTERSALES_TEST_POSTGRES_URL"]
engine = create_engine(url)
with engine.connect() as connection:
    one, data = connection.execute(text("SELECT 1, current_setting('data_directory')")).one()
engine.dispose()
Path(sys.argv[1]).write_text(json.dumps({"url": url, "one": one, "data": data}))
if sys.argv[2] == "wait":
    time.sleep(60)
sys.exit(int(sys.argv[2]))
"""


def env(postgres_url: str, **more: str) -> dict[str, str]:
    """This environment without AFTERSALES_* settings; Chromium taken as present (any
    executable will do) unless `more` says otherwise; apt-get never run."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("AFTERSALES_")}
    return base | {
        "AFTERSALES_TEST_POSTGRES_URL": postgres_url,
        "AFTERSALES_TEST_CHROMIUM": sys.executable,
        "AFTERSALES_TEST_NO_INSTALL": "1",
        **more,
    }


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def port_is_closed(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def url_on(port: int) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"


def run(
    environment: dict[str, str], *command: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--", *command],
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_throwaway_postgres_when_none_answers(tmp_path: Path) -> None:
    port = closed_port()
    seen = tmp_path / "seen.json"

    done = run(env(url_on(port)), sys.executable, "-c", CHILD, str(seen), "3")

    assert done.returncode == 3, done.stderr  # the command's status
    [line] = done.stderr.splitlines()
    assert "no PostgreSQL answers" in line and "throwaway" in line
    child = json.loads(seen.read_text())
    assert child["one"] == 1  # a real login through the URL the command was handed
    assert child["url"].startswith("postgresql+psycopg://postgres@127.0.0.1:")
    handed = int(child["url"].rsplit(":", 1)[1].split("/")[0])
    assert handed != port
    assert not Path(child["data"]).exists()  # stopped and removed afterwards
    assert port_is_closed(handed)


def test_ctrl_c_reaches_the_command_and_the_server_is_removed(tmp_path: Path) -> None:
    seen = tmp_path / "seen.json"
    script = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--", sys.executable, "-c", CHILD, str(seen), "wait"],
        env=env(url_on(closed_port())),
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a process group of its own, as a terminal's job
    )
    try:
        deadline = time.monotonic() + 30
        while not seen.exists() and time.monotonic() < deadline and script.poll() is None:
            time.sleep(0.05)
        child = json.loads(seen.read_text())
        os.killpg(script.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole group
        assert script.wait(timeout=30) == 128 + signal.SIGINT
    finally:
        if script.poll() is None:
            script.kill()
            script.wait()
    assert not Path(child["data"]).exists()
    assert port_is_closed(int(child["url"].rsplit(":", 1)[1].split("/")[0]))


def test_missing_chromium_is_one_line_and_no_tests(tmp_path: Path) -> None:
    chromium = tmp_path / "chromium"
    ran = tmp_path / "ran"
    environment = env(url_on(closed_port()), AFTERSALES_TEST_CHROMIUM=str(chromium))

    done = run(environment, sys.executable, "-c", f"open({str(ran)!r}, 'w')")

    assert done.returncode != 0
    [line] = done.stderr.splitlines()
    assert "Chromium" in line and str(chromium) in line and "apt-get install chromium" in line
    assert not ran.exists()


@pytest.fixture
def not_postgres() -> Iterator[int]:
    """A port where something answers and hangs up at once."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    listener.close()


def test_a_server_that_refuses_is_one_line_and_no_tests(tmp_path: Path, not_postgres: int) -> None:
    ran = tmp_path / "ran"

    done = run(env(url_on(not_postgres)), sys.executable, "-c", f"open({str(ran)!r}, 'w')")

    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert "refuses the tests" in line and f"127.0.0.1:{not_postgres}" in line
    assert not ran.exists()


def test_a_server_that_answers_is_used_as_it_is(tmp_path: Path) -> None:
    try:
        admin = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
        admin.dispose()
    except Exception:
        pytest.skip("no PostgreSQL answers at AFTERSALES_TEST_POSTGRES_URL")
    seen = tmp_path / "seen.json"

    done = run(env(POSTGRES_ADMIN_URL), sys.executable, "-c", CHILD, str(seen), "0")

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert json.loads(seen.read_text())["url"] == POSTGRES_ADMIN_URL
