"""Settings from the environment (prefix ALPHAP_), an env file and systemd credentials.

Secrets are SecretStr: printing the settings never shows them. Files in systemd's
$CREDENTIALS_DIRECTORY named like the variable (for example ALPHAP_TOKEN_KEYS)
override the environment, so secrets need not sit in an environment file.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from alphap.errors import SettingsError
from supervision.redaction import connection_passwords

KITE_API_ROOT = "https://api.kite.trade"


def _default_state_dir() -> Path:
    systemd_state = os.environ.get("STATE_DIRECTORY")
    if systemd_state:
        return Path(systemd_state.split(":")[0])
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "state"
    return base / "alphap"


class Settings(BaseSettings):
    """Everything alphap can be told, each field read from ALPHAP_<NAME>."""

    model_config = SettingsConfigDict(
        env_prefix="ALPHAP_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    database_url: SecretStr | None = Field(
        default=None, description="PostgreSQL DSN; unset starts an embedded server"
    )
    redis_url: SecretStr | None = Field(
        default=None, description="Redis URL; unset starts an embedded server"
    )
    redis_prefix: str = Field(default="alphap", min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    state_dir: Path = Field(default_factory=_default_state_dir)

    kite_api_key: str | None = None
    kite_api_secret: SecretStr | None = None
    kite_access_token: SecretStr | None = None
    kite_root: str = KITE_API_ROOT
    token_keys: SecretStr | None = Field(
        default=None, description="Fernet keys, comma-separated, newest first"
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"

    db_pool_min_size: int = Field(default=1, ge=0)
    db_pool_max_size: int = Field(default=10, ge=1)
    db_pool_timeout: float = Field(default=30.0, gt=0)
    db_pool_max_lifetime: float = Field(default=3600.0, gt=0)
    db_pool_max_idle: float = Field(default=600.0, gt=0)
    db_pool_reconnect_timeout: float = Field(default=300.0, gt=0)
    db_connect_timeout: int = Field(default=10, ge=1)
    db_sslmode: str | None = None
    db_sslrootcert: Path | None = None
    db_application_name: str = "alphap"

    ingress_consumer: str | None = Field(
        default=None, description="consumer name in the group; unset: the host name"
    )
    ingress_batch_size: int = Field(default=500, ge=1)
    ingress_block_ms: int = Field(default=200, ge=1)
    ingress_max_in_flight: int = Field(default=4, ge=1)
    ingress_claim_idle_seconds: float = Field(default=60.0, gt=0)
    ingress_claim_interval_seconds: float = Field(default=10.0, gt=0)
    ingress_journal_timeout_seconds: float = Field(default=30.0, gt=0)
    strategy_refresh_seconds: float = Field(default=30.0, gt=0)
    events_retention: str = Field(default="90d", pattern=r"^\s*\d+\s*[hdwHDW]\s*$")
    events_prune_interval_seconds: float = Field(default=3600.0, gt=0)
    shutdown_timeout_seconds: float = Field(
        default=60.0, gt=0, description="graceful stop bound; keep below the unit's TimeoutStopSec"
    )
    db_startup_timeout_seconds: float = Field(
        default=60.0, gt=0, description="how long `alphap run` waits for the database at start"
    )
    journal_max_batch: int = Field(default=1000, ge=1, description="events per group commit")
    journal_max_delay_ms: float = Field(
        default=5.0, gt=0, description="longest wait before a group commit"
    )
    snapshot_interval_seconds: float = Field(
        default=30.0, gt=0, description="how often changed portfolio snapshots are written"
    )
    portfolio_starting_cash: Decimal = Field(default=Decimal(1_000_000), ge=0)
    portfolio_idle_seconds: float = Field(
        default=600.0, gt=0, description="idle portfolios are snapshotted and passivated"
    )
    portfolio_max_live: int = Field(
        default=1000, ge=1, description="most portfolio actors alive at once (LRU passivation)"
    )
    session_sweep_seconds: float = Field(
        default=300.0, gt=0, description="how often expired Kite sessions are deactivated"
    )
    instruments_refresh_at: str = Field(
        default="08:30",
        pattern=r"^([01]?\d|2[0-3]):[0-5]\d$",
        description="daily instrument refresh from Kite, HH:MM in Asia/Kolkata",
    )
    console_socket: Path | None = Field(
        default=None,
        description="the console's Unix socket; unset: $RUNTIME_DIRECTORY/console.sock under "
        "systemd, else <state_dir>/console.sock",
    )
    console_admin: bool = Field(
        default=False,
        description="serve the console's admin commands (restart, snapshot, passivate, fault)",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("kite_root")
    @classmethod
    def _http_root(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    def secret_values(self) -> list[str]:
        """Every secret this configuration holds, for the log redactor."""
        secrets = [self.kite_api_secret, self.kite_access_token, self.token_keys]
        values = [s.get_secret_value() for s in secrets if s is not None]
        if self.token_keys is not None:
            values.extend(k.strip() for k in self.token_keys.get_secret_value().split(","))
        for url in (self.database_url, self.redis_url):
            if url is not None:
                values.extend(connection_passwords(url.get_secret_value()))
        return [v for v in values if v]


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, or raise SettingsError naming each bad setting and why."""
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    env_file = os.environ.get("ALPHAP_ENV_FILE", ".env")
    try:
        return Settings(
            _env_file=env_file,  # type: ignore[call-arg]
            _secrets_dir=credentials,
            **overrides,
        )
    except ValidationError as exc:
        problems, fields = [], []
        for error in exc.errors():
            name = "ALPHAP_" + "_".join(str(part) for part in error["loc"]).upper()
            problems.append(f"setting {name}: {error['msg']}")
            fields.append(str(error["loc"][0]) if error["loc"] else "")
        raise SettingsError(
            "invalid settings:\n  " + "\n  ".join(problems), tuple(fields)
        ) from None
