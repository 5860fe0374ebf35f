"""The distributed deployment: docker-compose.yml is valid against the Compose specification
and wires every process the code needs; the Dockerfile runs our console script.

There is no Docker engine where these run, so the Compose file is checked against the
specification's JSON schema (the copy vendored in check-jsonschema) instead of `docker compose
config`."""

from __future__ import annotations

import copy
import fnmatch
import json
import re
import shlex
import tomllib
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
SEARCH_ATTRIBUTES = ("TicketStatus", "Technician", "Zone", "ServiceType")
# The secrets a deployment must set: compose refuses to start without each (docs/security.md).
SECRETS = {
    "POSTGRES_PASSWORD": "pg-secret",
    "AFTERSALES_SECRET_KEY": "jwt-secret-of-thirty-two-bytes-or-more",
    "AFTERSALES_ADMIN_PASSWORD": "admin-secret",
    "AFTERSALES_PAYLOAD_KEYS": "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
}

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}, and $$ (a literal $).
_INTERPOLATION = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def _interpolate(value: Any, env: dict[str, str]) -> Any:
    """What Compose does to the file with `env` as the environment (no nested defaults)."""
    if isinstance(value, dict):
        return {key: _interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [_interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.groups()
        current = env.get(name)
        unset = current is None or (current == "" and operator and operator.startswith(":"))
        if unset and operator and operator.endswith("-"):
            return argument
        if unset and operator and operator.endswith("?"):
            raise ValueError(f"required variable {name} is not set: {argument}")
        return current or ""

    return _INTERPOLATION.sub(replace, value)


def _compose_schema() -> dict[str, Any]:
    path = files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def _validator() -> Validator:
    schema = _compose_schema()
    cls = validator_for(schema)  # the draft named by the schema's own $schema
    cls.check_schema(schema)
    validator: Validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return validator


def _schema_errors(document: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in _validator().iter_errors(document)
    ]


@pytest.fixture(scope="module")
def raw_compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def compose(raw_compose: dict[str, Any]) -> dict[str, Any]:
    """The file as Compose sees it with the secrets set: every other default applied."""
    data: dict[str, Any] = _interpolate(raw_compose, env=SECRETS)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def _argv(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else [str(part) for part in value]


def _depends_on(service: dict[str, Any]) -> dict[str, str]:
    depends = service.get("depends_on") or {}
    if isinstance(depends, list):
        return dict.fromkeys(depends, "service_started")
    return {name: spec["condition"] for name, spec in depends.items()}


def _published(service: dict[str, Any]) -> dict[int, str]:
    """Each published container port and the host address it is bound to ("" for all)."""
    ports: dict[int, str] = {}
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            if entry.get("published") is not None:
                ports[int(entry["target"])] = str(entry.get("host_ip", ""))
            continue
        parts = str(entry).split("/", 1)[0].split(":")
        if len(parts) >= 2:  # HOST:CONTAINER or IP:HOST:CONTAINER; a bare port is not published
            ports[int(parts[-1])] = parts[0] if len(parts) == 3 else ""
    return ports


def _published_container_ports(service: dict[str, Any]) -> set[int]:
    return set(_published(service))


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def _dockerfile_argv(rest: str) -> list[str]:
    return list(json.loads(rest)) if rest.startswith("[") else ["/bin/sh", "-c", rest]


# (a) The file is a valid Compose document.


def test_compose_file_is_valid_against_the_compose_specification(
    raw_compose: dict[str, Any], compose: dict[str, Any]
) -> None:
    assert _schema_errors(raw_compose) == []
    assert _schema_errors(compose) == []


def test_compose_file_uses_the_versionless_specification(raw_compose: dict[str, Any]) -> None:
    assert "version" not in raw_compose


@pytest.mark.parametrize("secret", sorted(SECRETS))
def test_compose_refuses_to_start_without_each_secret(
    raw_compose: dict[str, Any], secret: str
) -> None:
    # No published default to forget to change: a missing secret stops compose, named.
    missing = {name: value for name, value in SECRETS.items() if name != secret}
    with pytest.raises(ValueError, match=f"required variable {secret} is not set: set {secret}"):
        _interpolate(raw_compose, env=missing)
    with pytest.raises(ValueError, match=secret):
        _interpolate(raw_compose, env={**missing, secret: ""})


def test_the_secrets_reach_every_process_that_needs_them(services: dict[str, Any]) -> None:
    api_env = _environment(services["api"])
    assert api_env["AFTERSALES_SECRET_KEY"] == SECRETS["AFTERSALES_SECRET_KEY"]
    assert api_env["AFTERSALES_ADMIN_PASSWORD"] == SECRETS["AFTERSALES_ADMIN_PASSWORD"]
    assert api_env["AFTERSALES_PAYLOAD_KEYS"] == SECRETS["AFTERSALES_PAYLOAD_KEYS"]
    assert urlsplit(api_env["AFTERSALES_DATABASE_URL"]).password == "pg-secret"
    assert _environment(services["postgresql"])["POSTGRES_PASSWORD"] == "pg-secret"
    assert _environment(services["temporal"])["POSTGRES_PWD"] == "pg-secret"


def test_the_compose_settings_pass_the_products_own_checks(services: dict[str, Any]) -> None:
    # A key compose would pass along but the product refuses would stop every container.
    from core.config import Settings

    env = _environment(services["api"])
    checked = Settings(
        secret_key=env["AFTERSALES_SECRET_KEY"],
        payload_keys=env["AFTERSALES_PAYLOAD_KEYS"],
        admin_password=env["AFTERSALES_ADMIN_PASSWORD"],
        _env_file=None,  # type: ignore[call-arg]
    )
    assert checked.payload_keys is not None


# (b) Every process the code needs is there and wired to the others.


def test_every_service_the_code_needs_is_defined(services: dict[str, Any]) -> None:
    needed = {"postgresql", "temporal", "temporal-ui", "api", "worker", "migrate"}
    assert needed <= services.keys()


@pytest.mark.parametrize(
    ("service", "command"),
    [("api", "api"), ("worker", "worker"), ("migrate", "migrate")],
)
def test_our_services_run_the_aftersales_console_script(
    services: dict[str, Any], service: str, command: str
) -> None:
    assert _argv(services[service].get("command")) == ["aftersales", command]
    assert "entrypoint" not in services[service]
    assert services[service]["image"] == services["api"]["image"]
    assert services[service]["build"]["context"] == "."


@pytest.mark.parametrize("service", ["api", "worker", "migrate"])
def test_our_services_reach_temporal_and_postgresql_by_service_name(
    services: dict[str, Any], service: str
) -> None:
    env = _environment(services[service])
    host, _, port = env["AFTERSALES_TEMPORAL_ADDRESS"].rpartition(":")
    assert host in services and host == "temporal"
    assert port == "7233"

    postgres_env = _environment(services["postgresql"])
    url = urlsplit(env["AFTERSALES_DATABASE_URL"])
    assert url.scheme == "postgresql+psycopg"
    assert url.hostname in services and url.hostname == "postgresql"
    assert (url.port or 5432) == 5432
    assert url.username == postgres_env["POSTGRES_USER"]
    assert url.password == postgres_env["POSTGRES_PASSWORD"]
    assert url.path.lstrip("/") == postgres_env["POSTGRES_DB"]


def test_api_and_workers_share_one_configuration(services: dict[str, Any]) -> None:
    api_env, worker_env = _environment(services["api"]), _environment(services["worker"])
    shared = {key: value for key, value in api_env.items() if not key.startswith("AFTERSALES_API")}
    assert shared == worker_env
    assert api_env["AFTERSALES_SECRET_KEY"]  # replicas must not each generate their own key


def test_the_api_and_every_worker_share_the_attachments(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    # The API stores photos and signatures, the workers print them into PDFs: by default one
    # named volume at the files directory for all of them; a bucket by AFTERSALES_FILES_URL.
    from core.config import Settings

    env = _environment(services["api"])
    checked = Settings(
        data_dir=env["AFTERSALES_DATA_DIR"],
        files_url=env["AFTERSALES_FILES_URL"],
        files_s3_endpoint_url=env["AFTERSALES_FILES_S3_ENDPOINT_URL"],
        files_s3_region=env["AFTERSALES_FILES_S3_REGION"],
        _env_file=None,  # type: ignore[call-arg]
    )
    assert checked.files_url is None  # unset: <data dir>/files
    mount = f"files:{checked.data_dir / 'files'}"
    for name in ("api", "worker"):
        assert services[name].get("volumes") == [mount], name
    assert "files" in compose["volumes"]
    # The image makes that directory, the service's user's, so a new volume is writable.
    runs = " ".join(rest for kw, rest in _dockerfile_instructions() if kw == "RUN")
    assert "-o aftersales" in runs and str(checked.data_dir / "files") in runs


def test_worker_runs_at_least_two_replicas(services: dict[str, Any]) -> None:
    assert int(services["worker"]["deploy"]["replicas"]) >= 2
    assert "container_name" not in services["worker"]  # it could not be scaled
    assert not services["worker"].get("ports")


def test_api_listens_on_all_interfaces_and_publishes_8000(services: dict[str, Any]) -> None:
    api = services["api"]
    assert 8000 in _published_container_ports(api)
    assert _environment(api)["AFTERSALES_API_HOST"] == "0.0.0.0"
    assert _environment(api).get("AFTERSALES_API_PORT", "8000") == "8000"


def test_api_healthcheck_probes_the_health_endpoint(services: dict[str, Any]) -> None:
    probe = " ".join(_argv(services["api"]["healthcheck"]["test"]))
    assert "urllib" in probe
    assert ":8000/health" in probe


def test_temporal_ui_talks_to_the_temporal_frontend(services: dict[str, Any]) -> None:
    ui = services["temporal-ui"]
    assert _environment(ui)["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_only_the_api_is_published_to_the_network(services: dict[str, Any]) -> None:
    # docs/security.md: whoever reaches Temporal's frontend reads every history and can act
    # as anyone; PostgreSQL and the workers likewise stay on the compose network.
    open_to_all = {
        name: port
        for name, service in services.items()
        for port, host in _published(service).items()
        if host not in ("127.0.0.1", "::1", "localhost")
    }
    assert open_to_all == {"api": 8000}
    for inside in ("temporal", "postgresql", "worker", "migrate"):
        assert not services[inside].get("ports"), inside


def test_the_temporal_ui_is_loopback_only_read_only_and_decodes_through_the_api(
    services: dict[str, Any],
) -> None:
    ui = services["temporal-ui"]
    env = _environment(ui)
    assert _published(ui) == {8080: "127.0.0.1"}
    assert env["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "true"
    assert env["TEMPORAL_CODEC_ENDPOINT"] == "http://localhost:8000/codec"
    assert env["TEMPORAL_CODEC_INCLUDE_CREDENTIALS"] == "true"
    # The API lets that page's origin ask for decoding (an admin signed in there).
    cors = _environment(services["api"])["AFTERSALES_CODEC_CORS_ORIGINS"]
    assert cors == "http://localhost:8080"


def test_temporal_persists_in_the_postgresql_service(services: dict[str, Any]) -> None:
    env = _environment(services["temporal"])
    assert env["DB"].startswith("postgres")
    assert env["POSTGRES_SEEDS"] == "postgresql"
    assert env["POSTGRES_USER"] == _environment(services["postgresql"])["POSTGRES_USER"]
    assert env["POSTGRES_PWD"] == _environment(services["postgresql"])["POSTGRES_PASSWORD"]


def test_postgresql_keeps_its_data_and_reports_readiness(services: dict[str, Any]) -> None:
    postgresql = services["postgresql"]
    assert any(
        str(volume).endswith(":/var/lib/postgresql/data") for volume in postgresql["volumes"]
    )
    assert "pg_isready" in " ".join(_argv(postgresql["healthcheck"]["test"]))


def test_search_attributes_are_registered_as_keywords(services: dict[str, Any]) -> None:
    scripts = {
        name: " ".join(_argv(service.get("entrypoint")) + _argv(service.get("command")))
        for name, service in services.items()
    }
    registering = [name for name, script in scripts.items() if "search-attribute create" in script]
    assert registering, "no service registers search attributes"
    script = scripts[registering[0]]
    assert "--type Keyword" in script
    for attribute in SEARCH_ATTRIBUTES:
        assert re.search(rf"\b{attribute}\b", script), attribute


def test_processes_start_in_dependency_order(services: dict[str, Any]) -> None:
    assert _depends_on(services["migrate"])["postgresql"] == "service_healthy"
    assert _depends_on(services["temporal"]) != {}
    for name in ("api", "worker"):
        depends = _depends_on(services[name])
        assert depends["migrate"] == "service_completed_successfully"
        assert "temporal" in depends
        assert depends["temporal-admin-tools"] == "service_completed_successfully"
    for name, service in services.items():
        for dependency in _depends_on(service):
            assert dependency in services, f"{name} depends on unknown {dependency}"


# (c) The image runs our console script and carries the migrations.


def test_image_runs_the_aftersales_console_script() -> None:
    instructions = _dockerfile_instructions()
    entrypoint = [_dockerfile_argv(rest) for kw, rest in instructions if kw == "ENTRYPOINT"]
    cmd = [_dockerfile_argv(rest) for kw, rest in instructions if kw == "CMD"]
    argv = (entrypoint[-1] if entrypoint else []) + (cmd[-1] if cmd else [])
    assert argv[:2] == ["aftersales", "api"]

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "scripts"
    ]
    assert "aftersales" in scripts
    assert any(
        kw == "RUN" and "pip install" in rest and "/app" in rest for kw, rest in instructions
    )
    assert ("EXPOSE", "8000") in instructions


def test_image_installs_the_locked_versions() -> None:
    # The image runs the versions the tests ran (zone rules included: tzdata is pinned).
    runs = " ".join(rest for kw, rest in _dockerfile_instructions() if kw == "RUN")
    assert "--require-hashes -r /app/requirements.lock" in runs
    assert "--no-deps -e /app" in runs
    locked = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    assert re.search(r"^tzdata==", locked, re.MULTILINE)
    assert not re.search(r"^pytest==", locked, re.MULTILINE)  # the tools stay out
    assert "requirements.lock" not in DOCKERIGNORE.read_text(encoding="utf-8")


def test_image_runs_as_an_unprivileged_user() -> None:
    users = [rest for kw, rest in _dockerfile_instructions() if kw == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}


def test_image_carries_the_migrations() -> None:
    copies = [rest.split() for kw, rest in _dockerfile_instructions() if kw in {"COPY", "ADD"}]
    sources = {
        source.rstrip("/")
        for args in copies
        for source in args[:-1]
        if not source.startswith("--") and args[-1].rstrip("/") in {"/app", "."}
    }
    assert sources & {".", "migrations"}, "the image does not copy migrations/"
    assert (ROOT / "migrations" / "env.py").is_file()

    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for path in ("migrations", "migrations/env.py", "pyproject.toml"):
        excluded = [pattern for pattern in patterns if fnmatch.fnmatch(path, pattern.strip("/"))]
        assert not excluded, f".dockerignore drops {path}: {excluded}"
    for path in (".venv", "data", ".git"):
        assert any(fnmatch.fnmatch(path, pattern.strip("/")) for pattern in patterns), path


# (d) The validator does reject what the specification forbids.


def _api_ports_not_a_list(data: dict[str, Any]) -> None:
    data["services"]["api"]["ports"] = 8000


def _misspelt_service_key(data: dict[str, Any]) -> None:
    data["services"]["worker"]["comand"] = data["services"]["worker"].pop("command")


def _unknown_dependency_condition(data: dict[str, Any]) -> None:
    data["services"]["api"]["depends_on"]["migrate"]["condition"] = "service_finished"


@pytest.mark.parametrize(
    ("breakage", "path"),
    [
        (_api_ports_not_a_list, "services/api/ports"),
        (_misspelt_service_key, "services/worker"),
        (_unknown_dependency_condition, "services/api/depends_on"),
    ],
)
def test_schema_validation_rejects_a_broken_compose_file(
    compose: dict[str, Any], breakage: Callable[[dict[str, Any]], None], path: str
) -> None:
    broken = copy.deepcopy(compose)
    breakage(broken)
    errors = _schema_errors(broken)
    assert errors, "the broken file passed validation"
    assert any(error.startswith(path) for error in errors), errors
