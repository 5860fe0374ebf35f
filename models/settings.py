"""All runtime settings, from `AFTERSALES_*` environment variables or a `.env` file."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AFTERSALES_", env_file=".env", extra="ignore")

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
    token_ttl_minutes: int = Field(8 * 60, ge=1)

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

    def signing_key(self) -> str:
        """The token signing key: the setting, or one generated once and kept in the data dir
        so tokens survive restarts of a single-machine install."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()
