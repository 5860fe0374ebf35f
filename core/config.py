"""All runtime settings, from `AFTERSALES_*` environment variables or a `.env` file."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.codec import parse_payload_keys

MIN_SECRET_KEY_BYTES = 32
MIN_METRICS_TOKEN_BYTES = 16
MIN_PASSWORD_LENGTH = 8  # as for every user (models/values.py Password)
GENERATE_KEY = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'
S3_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# Values that appear in this repository's files or its docs' examples: never a real secret.
KNOWN_DEVELOPMENT_KEYS = frozenset(
    {
        "dev-only-secret-key-override-me",
        "test-signing-key-with-enough-length",
        "change-me-to-a-long-random-secret-value",
    }
)


class Settings(BaseSettings):
    # hide_input_in_errors: a bad value (a payload key, a password) is never echoed in errors.
    model_config = SettingsConfigDict(
        env_prefix="AFTERSALES_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)
    data_dir: Path = Path("./data")
    database_url: str | None = None

    temporal_address: str | None = None
    temporal_port: int = Field(7233, ge=1, le=65535)
    temporal_ui_port: int = Field(8233, ge=1, le=65535)
    temporal_namespace: str = "default"
    temporal_tls: bool = False
    temporal_tls_client_cert: Path | None = None
    temporal_tls_client_key: Path | None = None
    temporal_api_key: str | None = None
    task_queue: str = "aftersales"
    worker_max_concurrent_workflow_tasks: int = Field(8, ge=2)
    worker_max_concurrent_activities: int = Field(32, ge=1)

    policy_file: Path | None = None
    admin_password: str | None = None
    secret_key: str | None = None
    token_ttl_minutes: int = Field(8 * 60, ge=1, le=30 * 24 * 60)
    # The largest request body the API reads (413 beyond).
    max_request_bytes: int = Field(1_048_576, ge=1024, le=100 * 1_048_576)
    # The largest attachment (a photo, a PDF) a ticket takes (413 beyond); its upload alone
    # may exceed max_request_bytes.
    attachment_max_bytes: int = Field(10 * 1_048_576, ge=1024, le=100 * 1_048_576)

    # Where attachments are kept (store/files.py): unset, `<data dir>/files`; a directory (a
    # path or file:///path, e.g. a volume every API replica and worker mounts); or a bucket,
    # s3://bucket/prefix, on AWS or any S3-compatible server. Credentials and the region come
    # the way boto3 finds them (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, a
    # profile, an instance role): no secret is an AFTERSALES_ setting.
    files_url: str | None = None
    # An S3-compatible server's address (MinIO, Ceph, a cloud's S3 endpoint); unset: AWS.
    files_s3_endpoint_url: str | None = None
    # The bucket's region; unset: boto3's own (AWS_REGION, the profile).
    files_s3_region: str | None = None
    # How a bucket on files_s3_endpoint_url is addressed: `path` (host/bucket/key: MinIO, Ceph)
    # or `virtual` (bucket.host/key: clouds that require it).
    files_s3_addressing_style: Literal["path", "virtual"] = "path"

    # Where the customer's survey links point (R22); default: this API's own address.
    public_url: str | None = None
    # Outgoing mail (R16 escalations, R22 survey cards); no host: nothing is sent, only logged.
    smtp_host: str | None = None
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_from: str = "aftersales@localhost"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = Field(10, gt=0)
    # Survey cards by SMS: a gateway URL that takes a JSON POST {to, text}; unset: no SMS.
    sms_webhook_url: str | None = None

    # Workflow payload encryption (core/codec.py): "id:base64key,id:base64key,..." of 32-byte
    # AES keys; the first encrypts, all decrypt. Unset or empty: payloads are stored in clear.
    payload_keys: SecretStr | None = None
    # Browser origins (the Temporal UI's) allowed to call the codec endpoint /codec/*, comma
    # separated; empty: no CORS.
    codec_cors_origins: str = ""

    # Operations (docs/operations.md). `text` or `json`: one JSON object per log line, with
    # the ticket's id on the lines about one ticket.
    log_format: Literal["text", "json"] = "text"
    # Who may read the API's GET /metrics: with a token, whoever sends it as a bearer token;
    # without one, only a client on this machine (loopback, not through a proxy).
    metrics_token: SecretStr | None = None
    # host:port where a worker serves the Temporal SDK's metrics (Prometheus); unset: none.
    worker_metrics_address: str | None = None
    # Where the API and the workers send their traces (OTLP over HTTP, e.g.
    # http://collector:4318/v1/traces): a request's span, the workflow's and the activities'
    # under it, in one trace. Unset: no tracing.
    otel_endpoint: str | None = None

    @field_validator("otel_endpoint")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if not (value or "").strip():
            return None
        assert value is not None
        if not value.strip().startswith(("http://", "https://")) or len(value) > 2000:
            raise ValueError(
                "AFTERSALES_OTEL_ENDPOINT is an http(s) URL, e.g. http://collector:4318/v1/traces"
            )
        return value.strip()

    @field_validator("payload_keys")
    @classmethod
    def _check_payload_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        try:
            parse_payload_keys(value.get_secret_value())
        except ValueError as bad:
            raise ValueError(f"AFTERSALES_PAYLOAD_KEYS: {bad}") from None
        return value

    @field_validator("metrics_token")
    @classmethod
    def _long_enough_metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if len(value.get_secret_value().encode()) < MIN_METRICS_TOKEN_BYTES:
            raise ValueError(
                f"AFTERSALES_METRICS_TOKEN must be at least {MIN_METRICS_TOKEN_BYTES} bytes; "
                f"generate one: {GENERATE_KEY}"
            )
        return value

    @field_validator("worker_metrics_address")
    @classmethod
    def _host_and_port(cls, value: str | None) -> str | None:
        if not (value or "").strip():
            return None
        assert value is not None
        host, _, port = value.strip().rpartition(":")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError("AFTERSALES_WORKER_METRICS_ADDRESS is host:port, e.g. 0.0.0.0:9464")
        return value.strip()

    @field_validator("files_url", "files_s3_endpoint_url", "files_s3_region")
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        return (value or "").strip() or None

    @field_validator("files_url")
    @classmethod
    def _known_file_store(cls, value: str | None) -> str | None:
        if value is None or "://" not in value:
            return value
        parts = urlsplit(value)
        if parts.scheme == "s3" and S3_BUCKET.fullmatch(parts.netloc):
            return value
        if parts.scheme == "file" and parts.netloc in ("", "localhost") and parts.path:
            return value
        raise ValueError(
            "AFTERSALES_FILES_URL is a directory (a path or file:///path) or a bucket "
            "(s3://bucket/prefix, a bucket name of 3-63 lowercase letters, digits, dots and "
            "hyphens)"
        )

    @field_validator("files_s3_endpoint_url")
    @classmethod
    def _http_endpoint(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("AFTERSALES_FILES_S3_ENDPOINT_URL is an http:// or https:// URL")
        return value

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'aftersales.db').resolve()}"

    @property
    def resolved_temporal_address(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def resolved_public_url(self) -> str:
        return (self.public_url or f"http://{self.api_host}:{self.api_port}").rstrip("/")

    @property
    def embedded_temporal(self) -> bool:
        return self.temporal_address is None

    @field_validator("admin_password")
    @classmethod
    def _long_enough_admin_password(cls, value: str | None) -> str | None:
        if value and len(value) < MIN_PASSWORD_LENGTH:
            raise ValueError(
                f"AFTERSALES_ADMIN_PASSWORD must be at least {MIN_PASSWORD_LENGTH} characters"
            )
        return value or None

    @field_validator("secret_key")
    @classmethod
    def _strong_secret_key(cls, value: str | None) -> str | None:
        if not value:
            return None
        if value in KNOWN_DEVELOPMENT_KEYS:
            raise ValueError(
                "AFTERSALES_SECRET_KEY is a published example value; generate your own: "
                f"{GENERATE_KEY}"
            )
        if len(value.encode()) < MIN_SECRET_KEY_BYTES:
            raise ValueError(
                f"AFTERSALES_SECRET_KEY must be at least {MIN_SECRET_KEY_BYTES} bytes; "
                f"generate one: {GENERATE_KEY}"
            )
        return value

    def signing_key(self) -> str:
        """The token signing key: the setting, or one generated once and kept in the data dir
        so tokens survive restarts of a single-machine install."""
        if self.secret_key:
            return self.secret_key
        return _read_or_create_key(private_dir(self.data_dir) / "secret_key")


def private_dir(path: Path) -> Path:
    """`path`, created if missing, readable by this user alone (0700): it holds the databases
    and the signing key."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_uid == os.geteuid():
        path.chmod(0o700)
    return path


def _read_or_create_key(path: Path) -> str:
    """The key in `path`; on first use a new one, written 0600 to a file of its own and linked
    into place, so a concurrent first start never sees a half-written key or a second one."""
    if not path.exists():
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_urlsafe(48))
                file.flush()
                os.fsync(file.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
        finally:
            draft.unlink()
    return path.read_text().strip()
