"""Secrets and files a deployment must get right (docs/security.md): a signing key that is
long enough and not a published example, refused in one clear line; the generated key file
and the data directory readable by the service's user alone, created atomically; zone rules
from the pinned `tzdata` package in every process."""

from __future__ import annotations

import multiprocessing
import stat
import zoneinfo
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.config import KNOWN_DEVELOPMENT_KEYS, Settings
from tests.test_cli import aftersales

GOOD_KEY = "k" * 32


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("short-key", "at least 32 bytes"),
        ("x" * 31, "at least 32 bytes"),
        *((known, "published example value") for known in sorted(KNOWN_DEVELOPMENT_KEYS)),
    ],
)
def test_a_weak_signing_key_is_refused_without_echoing_it(key: str, problem: str) -> None:
    with pytest.raises(ValidationError) as refused:
        settings(secret_key=key)
    message = str(refused.value)
    assert "AFTERSALES_SECRET_KEY" in message and problem in message
    assert key not in message


def test_a_long_enough_key_is_used_as_given() -> None:
    assert settings(secret_key=GOOD_KEY).signing_key() == GOOD_KEY


def test_a_weak_key_stops_every_command_in_one_line(tmp_path: Path) -> None:
    for command in ("migrate", "api", "worker"):
        ran = aftersales(tmp_path, command, secret_key="dev-only-secret-key-override-me")
        assert ran.returncode == 2, (command, ran.stderr)
        lines = ran.stderr.strip().splitlines()
        assert len(lines) == 1, (command, ran.stderr)
        assert lines[0].startswith("error: bad setting secret_key: AFTERSALES_SECRET_KEY")
        assert "dev-only-secret-key-override-me" not in ran.stderr


def test_the_generated_key_and_its_directory_are_the_services_alone(tmp_path: Path) -> None:
    data_dir = tmp_path / "new" / "data"
    key = settings(data_dir=data_dir).signing_key()
    assert len(key) >= 48
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / "secret_key").stat().st_mode) == 0o600
    assert settings(data_dir=data_dir).signing_key() == key  # kept across restarts
    assert [p.name for p in data_dir.iterdir()] == ["secret_key"]  # no draft left behind


def test_an_existing_open_data_directory_is_closed_to_others(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    settings(data_dir=data_dir).signing_key()
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700


def _first_start(data_dir: str, keys: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    keys.put(settings(data_dir=Path(data_dir)).signing_key())


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    # The API and the worker of `make run` may both make the key on first start: one wins,
    # the other reads it, and neither ever sees a half-written file.
    context = multiprocessing.get_context("spawn")
    keys = context.Queue()
    starts = [
        context.Process(target=_first_start, args=(str(tmp_path / "data"), keys)) for _ in range(6)
    ]
    for process in starts:
        process.start()
    for process in starts:
        process.join(60)
    found = {keys.get(timeout=5) for _ in starts}
    assert len(found) == 1 and len(found.pop()) >= 48


def test_zone_rules_come_from_the_pinned_tzdata_package() -> None:
    # tests/conftest.py, like cli.py for every process, reads zones from `tzdata` alone.
    assert zoneinfo.TZPATH == ()
    assert zoneinfo.ZoneInfo("Asia/Shanghai").key == "Asia/Shanghai"


def test_a_short_admin_password_stops_migrate_in_one_line(tmp_path: Path) -> None:
    # The admin is created by `aftersales migrate`: a password too short for any user must
    # not pass unnoticed there (compose once shipped `admin` as its default).
    ran = aftersales(tmp_path, "migrate", admin_password="admin")
    assert ran.returncode == 2, ran.stderr
    [line] = ran.stderr.strip().splitlines()
    assert "AFTERSALES_ADMIN_PASSWORD must be at least 8 characters" in line
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())


@pytest.mark.parametrize("endpoint", ["collector:4318", "ftp://collector/v1/traces"])
def test_a_tracing_endpoint_must_be_an_http_url(endpoint: str) -> None:
    with pytest.raises(ValidationError) as refused:
        settings(otel_endpoint=endpoint)
    assert "AFTERSALES_OTEL_ENDPOINT is an http(s) URL" in str(refused.value)


def test_no_tracing_endpoint_means_no_tracing() -> None:
    assert settings(otel_endpoint=" ").otel_endpoint is None
    assert settings(otel_endpoint="http://collector:4318/v1/traces ").otel_endpoint == (
        "http://collector:4318/v1/traces"
    )
