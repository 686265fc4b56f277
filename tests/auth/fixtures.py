"""API keys for tests: fixtures other test packages can import.

    from tests.auth.fixtures import admin_key, curator_key, bearer  # noqa: F401

For tests about something else, ``admin_client(app)`` is a client that sends an admin key
(admin passes every role and namespace check).

``curator_key`` and ``reviewer_key`` are factories: ``curator_key("education")`` returns a key
scoped to that namespace (several namespaces: ``curator_key("health", "education")``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col

from indicator_service.auth import service
from indicator_service.auth.keys import parse_key
from indicator_service.auth.models import ApiKey, Role
from indicator_service.auth.principal import CLI_OPERATOR
from indicator_service.core.database import session_scope
from indicator_service.core.settings import Settings
from tests.helpers import ApiClient

KeyFactory = Callable[..., str]


def issue_key(
    engine: Engine,
    settings: Settings,
    role: Role | str,
    namespaces: list[str] | tuple[str, ...] | None = None,
    name: str | None = None,
    regions: list[str] | None = None,
) -> str:
    """Create a key directly in the database (as the CLI does) and return its text
    (``regions``: the region scopes of an evaluator key)."""
    role = Role(role)
    scopes = {"regions": regions} if regions else {}
    with session_scope(engine) as session:
        _row, raw = service.create_key(
            session,
            name=name or f"test {role.value} {uuid.uuid4().hex[:6]}",
            role=role,
            namespaces=list(namespaces) if namespaces else None,
            server_secret=settings.secret_key,
            actor=CLI_OPERATOR,
            **scopes,
        )
    return raw


def revoke_in_database(engine: Engine, raw: str) -> None:
    """Revoke ``raw`` in the database only, as the CLI does (no server's cache told)."""
    parsed = parse_key(raw)
    assert parsed is not None
    with session_scope(engine) as session:
        session.exec(
            update(ApiKey)
            .where(col(ApiKey.prefix) == parsed.prefix)
            .values(revoked_at=datetime.now(UTC))
        )


def authenticate(client: ApiClient, key: str) -> ApiClient:
    """Send ``key`` with every request of ``client`` (for tests about something else)."""
    client._client.headers.update(bearer(key))
    return client


def admin_client(app: FastAPI) -> ApiClient:
    """A client of ``app`` (database migrated) that sends a new admin key."""
    key = issue_key(app.state.engine, app.state.settings, Role.admin, name="test admin")
    return authenticate(ApiClient(app), key)


def bearer(key: str) -> dict[str, str]:
    """Request headers carrying ``key``."""
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def make_key(engine: Engine, settings: Settings) -> KeyFactory:
    """``make_key(role, namespaces=None, name=None)`` → a new key's text."""

    def make(role: Role | str, namespaces: list[str] | None = None, name: str | None = None) -> str:
        return issue_key(engine, settings, role, namespaces, name)

    return make


@pytest.fixture
def admin_key(make_key: KeyFactory) -> str:
    return make_key(Role.admin)


@pytest.fixture
def evaluator_key(make_key: KeyFactory) -> str:
    return make_key(Role.evaluator)


@pytest.fixture
def client_key(make_key: KeyFactory) -> str:
    return make_key(Role.client)


@pytest.fixture
def curator_key(make_key: KeyFactory) -> KeyFactory:
    def make(*namespaces: str) -> str:
        return make_key(Role.curator, list(namespaces) or ["*"])

    return make


@pytest.fixture
def reviewer_key(make_key: KeyFactory) -> KeyFactory:
    def make(*namespaces: str) -> str:
        return make_key(Role.reviewer, list(namespaces) or ["*"])

    return make
