from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from pydantic import ValidationError
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import indicator_service.models  # noqa: F401
from indicator_service.cli import main, render_openapi
from indicator_service.core import database
from indicator_service.core.settings import DEFAULT_SECRET, Settings, load_settings
from tests.paths import REPO_ROOT


def test_production_refuses_default_secret() -> None:
    with pytest.raises(ValidationError, match="INDICATOR_SECRET_KEY"):
        Settings(environment="production", secret_key=DEFAULT_SECRET)
    Settings(environment="production", secret_key="a-real-secret-of-enough-length")


def test_settings_read_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INDICATOR_MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("INDICATOR_ENV_FILE", "/nonexistent")
    assert load_settings().max_body_bytes == 2048


def test_settings_read_env_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = tmp_path / "svc.env"
    env.write_text("INDICATOR_LOG_LEVEL=DEBUG\n")
    monkeypatch.setenv("INDICATOR_ENV_FILE", str(env))
    assert load_settings().log_level == "DEBUG"


def test_models_match_migrated_schema(database_url: str) -> None:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, SQLModel.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_migrations_downgrade_and_upgrade(fresh_database_url: str) -> None:
    database.upgrade(fresh_database_url)
    database.upgrade(fresh_database_url)  # idempotent
    from alembic import command

    command.downgrade(database.alembic_config(fresh_database_url), "base")
    engine = create_engine(fresh_database_url)
    assert database.current_revisions(engine) == set()
    engine.dispose()
    database.upgrade(fresh_database_url)


def test_committed_openapi_matches_app() -> None:
    committed = (REPO_ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8")
    assert json.loads(committed) == json.loads(render_openapi()), (
        "openapi/openapi.json drifted: run `indicator-service openapi`"
    )


def test_if_match_is_declared_required_on_every_draft_edit() -> None:
    """Every operation taking If-Match declares it required (the handlers answer 428 without
    it) except where ``validate_only`` can skip it, and every operation under a draft that
    writes takes it, as do the other editable records (rectifications)."""
    doc = json.loads(render_openapi())
    editable = {("patch", "/v1/rectifications/{rectification_id}")}
    taking, draft_writes = set(), set()
    for path, item in doc["paths"].items():
        for method, op in item.items():
            params = [p for p in op.get("parameters", []) if p["name"].lower() == "if-match"]
            checks_only = any(p["name"] == "validate_only" for p in op.get("parameters", []))
            assert all(p["required"] is not checks_only for p in params), (method, path)
            if params:
                taking.add((method, path))
            if "/drafts/{" in path and method != "get":
                draft_writes.add((method, path))
    assert taking == draft_writes | editable
    assert len(taking) == 15, sorted(taking)


def test_cli_db_upgrade_and_current(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from indicator_service.core.settings import get_settings

    monkeypatch.setenv("INDICATOR_DATABASE_URL", fresh_database_url)
    get_settings.cache_clear()
    try:
        assert main(["db", "current"]) == 3
        assert main(["db", "upgrade"]) == 0
        assert main(["db", "current"]) == 0
        assert "head" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()


def test_cli_reports_unreachable_database(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from indicator_service.core.settings import get_settings

    monkeypatch.setenv("INDICATOR_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/none")
    get_settings.cache_clear()
    try:
        assert main(["db", "current"]) == 2
        assert "database unreachable" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()
