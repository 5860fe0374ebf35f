"""The installed `aftersales` console script, run as an operator runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, inspect
from sqlmodel import Session

from models.tables import TicketRecord, User

AFTERSALES = Path(sys.executable).parent / "aftersales"
SHIPPED_POLICY = Path(str(resources.files("models").joinpath("default_policy.toml")))
# An impossible value: the zone names a calendar the file does not define.
BAD_POLICY = """
[calendars.office]
timezone = "UTC"
workdays = ["mon"]
hours = [["08:00", "17:00"]]

[zones.urban]
calendar = "nightshift"
arrival_hours = 6
"""


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without any AFTERSALES_* setting, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERSALES_")}
    env.update({f"AFTERSALES_{k.upper()}": v for k, v in settings.items()})
    env["COLUMNS"] = "200"  # help text is laid out for the terminal width
    return env


def aftersales(
    tmp_path: Path, *args: str, timeout: float = 60, **settings: str
) -> subprocess.CompletedProcess[str]:
    # cwd=tmp_path: a stray .env in the repository must not be read.
    return subprocess.run(
        [str(AFTERSALES), *args],
        cwd=tmp_path,
        env=clean_env(**settings),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def bad_policy(tmp_path: Path) -> Path:
    path = tmp_path / "bad-policy.toml"
    path.write_text(BAD_POLICY, "utf-8")
    return path


def assert_names_file_key_problem(output: str, path: Path) -> None:
    assert str(path) in output
    assert "zones.urban.calendar" in output
    assert "unknown calendar 'nightshift'" in output


def test_help_lists_every_command(tmp_path: Path) -> None:
    ran = aftersales(tmp_path, "--help")
    assert ran.returncode == 0, ran.stderr
    for command in ["dev", "api", "worker", "migrate", "policy"]:
        assert f" {command} " in ran.stdout, command


def test_policy_check_accepts_a_good_file(tmp_path: Path) -> None:
    ran = aftersales(tmp_path, "policy", "check", str(SHIPPED_POLICY))
    assert ran.returncode == 0, ran.stderr
    assert "ok" in ran.stdout and str(SHIPPED_POLICY) in ran.stdout


def test_policy_check_refuses_a_bad_file_naming_file_key_and_problem(
    tmp_path: Path, bad_policy: Path
) -> None:
    ran = aftersales(tmp_path, "policy", "check", str(bad_policy))
    assert ran.returncode != 0
    assert_names_file_key_problem(ran.stderr, bad_policy)
    assert "ok" not in ran.stdout


def test_policy_check_refuses_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    ran = aftersales(tmp_path, "policy", "check", str(missing))
    assert ran.returncode != 0
    assert str(missing) in ran.stderr


def test_migrate_creates_the_tables_and_the_admin_then_is_a_no_op(tmp_path: Path) -> None:
    db = tmp_path / "data" / "aftersales.db"
    settings = {"database_url": f"sqlite:///{db}", "admin_password": "first-admin-pw"}
    first = aftersales(tmp_path, "migrate", **settings)
    assert first.returncode == 0, first.stderr
    assert "created user 'admin'" in first.stdout
    assert "up to date" in first.stdout
    engine = create_engine(f"sqlite:///{db}")
    try:
        assert {"users", "tickets", "ticket_timeline", "counters", "alembic_version"} <= set(
            inspect(engine).get_table_names()
        )
        with Session(engine) as session:
            admin = session.get(User, "admin")
            assert admin is not None and admin.roles == ["admin"]
            first_hash = admin.password_hash

        # Again, even with another admin password: nothing changes, and it still succeeds.
        again = aftersales(tmp_path, "migrate", **settings | {"admin_password": "other-pw-22"})
        assert again.returncode == 0, again.stderr
        assert "created user" not in again.stdout
        assert "up to date" in again.stdout
        with Session(engine) as session:
            admin = session.get(User, "admin")
            assert admin is not None and admin.password_hash == first_hash
    finally:
        engine.dispose()


def test_migrate_without_admin_password_creates_no_user(tmp_path: Path) -> None:
    db = tmp_path / "aftersales.db"
    ran = aftersales(tmp_path, "migrate", database_url=f"sqlite:///{db}")
    assert ran.returncode == 0, ran.stderr
    assert "created user" not in ran.stdout
    engine = create_engine(f"sqlite:///{db}")
    try:
        with Session(engine) as session:
            assert session.get(User, "admin") is None
    finally:
        engine.dispose()


def test_migrate_uses_the_data_dir_by_default(tmp_path: Path) -> None:
    ran = aftersales(tmp_path, "migrate", data_dir=str(tmp_path / "state"))
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "state" / "aftersales.db").exists()


@pytest.mark.parametrize("command", ["migrate", "api", "worker", "dev"])
def test_a_bad_policy_file_stops_start_up_with_the_message(
    tmp_path: Path, bad_policy: Path, command: str
) -> None:
    # Nothing is started or written: the policy is checked first.
    db = tmp_path / "data" / "aftersales.db"
    ran = aftersales(
        tmp_path,
        command,
        timeout=30,
        policy_file=str(bad_policy),
        database_url=f"sqlite:///{db}",
        data_dir=str(tmp_path / "data"),
        # Never reach a real Temporal, should the check be skipped.
        temporal_address="127.0.0.1:1",
        api_port="1",
    )
    assert ran.returncode != 0
    assert_names_file_key_problem(ran.stderr, bad_policy)
    assert not db.exists()


def test_policy_simulate_sets_a_candidate_beside_what_happened(tmp_path: Path) -> None:
    # Called in 24 September 2025 at 09:00 in Shanghai, there at 12:30 (due 16:00): met. With
    # 2-hour arrivals it would have been due at 11:00, warned at 10:36: missed, both raised.
    db = tmp_path / "aftersales.db"
    settings = {"database_url": f"sqlite:///{db}"}
    assert aftersales(tmp_path, "migrate", **settings).returncode == 0
    shanghai = ZoneInfo("Asia/Shanghai")
    called = datetime(2025, 9, 24, 9, 0, tzinfo=shanghai)
    with Session(create_engine(settings["database_url"])) as session:
        session.add(
            TicketRecord(
                id="t1",
                number="T2025-000001",
                seq=5,
                status="closed",
                service_type="paid",
                zone="urban",
                branch="city",
                customer_name="Li",
                customer_phone="138",
                customer_address="Road",
                product_model="TV-55",
                problem="no picture",
                channel="phone",
                registered_by="clerk1",
                created_at=called,
                updated_at=called,
                arrival_due_at=called + timedelta(hours=7),
                dispatches=1,
                dispatched_at=called + timedelta(minutes=5),
                arrived_at=called + timedelta(hours=3.5),
                resolved_at=called + timedelta(hours=6),
                ended_at=called + timedelta(hours=6),
            )
        )
        session.commit()
    candidate = tmp_path / "candidate.toml"
    candidate.write_text(
        SHIPPED_POLICY.read_text("utf-8").replace("arrival_hours = 6", "arrival_hours = 2", 1),
        "utf-8",
    )
    ran = aftersales(
        tmp_path,
        "policy",
        "simulate",
        str(candidate),
        "--from",
        "2025-09-22",
        "--to",
        "2025-09-28",
        **settings,
    )
    assert ran.returncode == 0, ran.stderr
    table = {line.split()[0]: line.split()[1:] for line in ran.stdout.splitlines()[1:-1]}
    assert table["tickets"] == ["1", "1"]
    assert (table["arrival_met"], table["arrival_missed"]) == (["1", "0"], ["0", "1"])
    assert table["arrival_warning"] == ["0", "1"] and table["arrival_overdue"] == ["0", "1"]
    assert ran.stdout.splitlines()[-1] == "tickets treated differently: 1"
