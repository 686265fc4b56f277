"""Settings of the authentication layer, read from ``INDICATOR_*`` like the core settings.

``create_app`` does not know about them. ``get_auth_settings`` is a FastAPI dependency: an
application (or a test) overrides what the environment says with
``app.dependency_overrides[get_auth_settings] = lambda: AuthSettings(...)``. Code on the request
path that is not itself a dependency (the single-dependency key check) reads the same override
through ``auth_settings(request)``.
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


def get_auth_settings() -> AuthSettings:
    """The dependency: the settings from the environment (override it in tests)."""
    return auth_settings_from_env()


def auth_settings(request: Request) -> AuthSettings:
    """The settings of the request's application: its override of ``get_auth_settings``, if any."""
    provider = request.app.dependency_overrides.get(get_auth_settings, get_auth_settings)
    settings = provider()
    if not isinstance(settings, AuthSettings):  # an override that returns something else
        raise TypeError("an override of get_auth_settings must return AuthSettings")
    return settings
