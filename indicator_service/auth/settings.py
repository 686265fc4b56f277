"""Settings of the authentication layer, read from ``INDICATOR_*`` like the core settings.

``create_app`` does not know about them; an application (or a test) may set
``app.state.auth_settings`` to override what the environment says.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from fastapi import Request
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INDICATOR_", extra="ignore")

    public_reads: bool = Field(
        default=True,
        description="Reads of published catalogue data need no key (INDICATOR_PUBLIC_READS).",
    )
    api_key_cache_seconds: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="How long a verified key is trusted without a database lookup (0: never).",
    )
    api_key_revocation_check_seconds: float = Field(
        default=2.0,
        ge=0,
        le=60,
        description="Longest time a key revoked on another process keeps working here: a cached "
        "key is re-checked against the revocations this often (one query per interval).",
    )


@lru_cache(maxsize=1)
def auth_settings_from_env() -> AuthSettings:
    env_file = os.environ.get("INDICATOR_ENV_FILE", ".env")
    return AuthSettings(_env_file=env_file if Path(env_file).is_file() else None)


def auth_settings(request: Request) -> AuthSettings:
    override = getattr(request.app.state, "auth_settings", None)
    if isinstance(override, AuthSettings):
        return override
    return auth_settings_from_env()
