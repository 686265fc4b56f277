"""One settings object for the whole service, read from ``INDICATOR_*`` environment variables."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from indicator_service.core.i18n import _

DEFAULT_SECRET = "change-me-in-production"


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class Settings(BaseSettings):
    """Service configuration. Every field can be set as ``INDICATOR_<NAME>``.

    An env file can be named with ``INDICATOR_ENV_FILE`` (default ``.env`` when present).
    """

    model_config = SettingsConfigDict(env_prefix="INDICATOR_", extra="ignore")

    environment: Environment = Environment.development
    database_url: str = Field(
        default="sqlite:///./indicator.db",
        description="SQLAlchemy URL: sqlite:///PATH (embedded default) or postgresql+psycopg://…",
    )
    secret_key: str = Field(default=DEFAULT_SECRET, description="Server secret (key hashing).")
    max_body_bytes: int = Field(
        default=32 * 1024 * 1024, gt=0, description="Largest accepted request body."
    )
    request_read_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Seconds a request body may stall (no data) before the request is answered "
        "408 and the connection closed.",
    )
    log_level: str = "INFO"
    log_json: bool = True
    migrate_on_start: bool = Field(
        default=False, description="Apply migrations when `serve` starts."
    )
    seed_path: Path | None = Field(
        default=None, description="Catalogue folder imported when `serve` starts (if set)."
    )
    public_cache_seconds: int = Field(
        default=86400, ge=0, description="max-age for responses about published versions."
    )
    catalogue_refresh_seconds: float = Field(
        default=2.0,
        ge=0,
        description="Longest time a replica serves the previous latest version (or status) of a "
        "namespace or framework after another replica publishes or deprecates one; 0: look "
        "the versions up on every request.",
    )
    gc_freeze_at_start: bool = Field(
        default=True,
        description="Freeze the objects a process starts with out of Python's cyclic garbage "
        "collector when the app starts (shorter pauses of full collections under load; "
        "core/gcpause.py).",
    )
    rate_limit_per_minute: int = Field(
        default=1200,
        ge=0,
        description="Requests a minute per API key (per client address without a key), "
        "per process, or shared by every replica when INDICATOR_REDIS_URL is set; 0 turns rate "
        "limiting off.",
    )
    rate_limit_burst: int = Field(
        default=200, gt=0, description="Requests a caller may send at once before being limited."
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis holding the rate-limit buckets shared by every replica "
        "(INDICATOR_REDIS_URL, e.g. redis://127.0.0.1:6379/0); unset: buckets per process.",
    )
    db_pool_size: int = Field(default=10, gt=0)
    db_pool_timeout: float = Field(
        default=5.0,
        gt=0,
        description="Seconds a request waits for a pooled connection before a 503 (PostgreSQL).",
    )
    db_connect_timeout: int = Field(
        default=5,
        ge=2,
        description="Seconds to open a PostgreSQL connection (libpq connect_timeout; at least 2).",
    )
    db_statement_timeout: float = Field(
        default=30.0,
        ge=0,
        description="PostgreSQL statement_timeout in seconds: the server cancels a statement "
        "running longer (0: no limit).",
    )
    db_stall_timeout: float = Field(
        default=3.0,
        gt=0,
        description="Seconds a connection may wait on PostgreSQL before the service checks with "
        "a new connection that the database still answers; if it does not, the waiting "
        "connections are closed (503).",
    )
    db_keepalives_idle: int = Field(
        default=10,
        gt=0,
        description="TCP keepalives on PostgreSQL connections: seconds idle before the first "
        "probe (also sets TCP_USER_TIMEOUT to idle + interval × count).",
    )
    db_keepalives_interval: int = Field(
        default=5, gt=0, description="Seconds between TCP keepalive probes (PostgreSQL)."
    )
    db_keepalives_count: int = Field(
        default=3,
        gt=0,
        description="Unanswered TCP keepalive probes before the connection is dropped.",
    )
    db_busy_timeout: float = Field(
        default=30.0,
        ge=0,
        description="SQLite: seconds a statement waits for another writer's lock before a 503.",
    )
    readiness_timeout: float = Field(
        default=3.0,
        gt=0,
        description="Seconds /readyz waits for its checks before answering 503.",
    )
    db_echo: bool = False

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Self:
        if self.environment is Environment.production and self.secret_key == DEFAULT_SECRET:
            raise ValueError(
                _("INDICATOR_SECRET_KEY must be set to a non-default value in production")
            )
        if self.environment is Environment.production and len(self.secret_key) < 16:
            raise ValueError(_("INDICATOR_SECRET_KEY must be at least 16 characters in production"))
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment (and env file), with explicit overrides on top."""
    import os

    env_file = os.environ.get("INDICATOR_ENV_FILE", ".env")
    return Settings(_env_file=env_file if Path(env_file).is_file() else None, **overrides)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings (used by the CLI and the ASGI factory)."""
    return load_settings()
