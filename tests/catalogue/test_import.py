"""``catalog validate`` / ``catalog import`` and the rules of storing versions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import select

from indicator_service.catalogue.models import (
    CatalogueIndicator,
    CatalogueNamespaceVersion,
    CatalogueStandard,
)
from indicator_service.catalogue.service import import_catalogue
from indicator_service.catalogue.validation import load_catalogue
from indicator_service.cli import main
from indicator_service.core import database
from indicator_service.core.errors import Conflict, Unprocessable
from tests.paths import CATALOG_DIR


def test_cli_validate_seed_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "validate", str(CATALOG_DIR)]) == 0
    out = capsys.readouterr().out
    assert out.strip() == ("ok: 13 namespace(s), 260 indicator(s), 87 standard(s), 4 framework(s)")


def test_cli_validate_prints_file_line_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(CATALOG_DIR, tmp_path / "catalog")
    fw = tmp_path / "catalog" / "frameworks" / "project_2020.yaml"
    text = fw.read_text(encoding="utf-8")
    fw.write_text(
        text.replace("name_en: Output, points: 35", "name_en: Output, points: 30"), encoding="utf-8"
    )
    line = next(i for i, ln in enumerate(fw.read_text().splitlines(), 1) if "code: OUT," in ln)
    assert main(["catalog", "validate", str(tmp_path / "catalog")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert (
        f"catalog/frameworks/project_2020.yaml:{line}: node OUT has 30 points but its "
        "children add up to 35" in out
    )
    assert any("level-1 points add up to 95, not 100" in m for m in out)


def test_cli_import_is_idempotent(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from indicator_service.core.settings import get_settings

    monkeypatch.setenv("INDICATOR_DATABASE_URL", fresh_database_url)
    get_settings.cache_clear()
    try:
        database.upgrade(fresh_database_url)
        assert main(["catalog", "import", str(CATALOG_DIR)]) == 0
        assert capsys.readouterr().out.splitlines()[-1] == (
            "imported: 17 new version(s), 0 unchanged"
        )
        assert main(["catalog", "import", str(CATALOG_DIR)]) == 0
        assert capsys.readouterr().out.splitlines()[-1] == (
            "imported: 0 new version(s), 17 unchanged"
        )
    finally:
        get_settings.cache_clear()


def test_changed_content_at_published_version_is_refused_atomically(
    cat_engine: Engine, tmp_path: Path
) -> None:
    shutil.copytree(CATALOG_DIR, tmp_path / "catalog")
    ns = tmp_path / "catalog" / "namespaces" / "environment.yaml"
    ns.write_text(
        ns.read_text(encoding="utf-8").replace("value: 86.5,", "value: 86.6,"), encoding="utf-8"
    )
    # a new namespace in the same import must not be stored either (one transaction)
    (tmp_path / "catalog" / "namespaces" / "zz.yaml").write_text(
        "namespace: zz_extra\nkind: sector\nsector: health\ncode_prefix: ZZZ\nname_zh: 额外\n"
        "name_en: Extra\nowner: test\nversion: 1.0.0\n",
        encoding="utf-8",
    )
    cat = load_catalogue(tmp_path / "catalog")
    assert cat.issues == []
    with (
        pytest.raises(Conflict, match=r"environment 1\.0\.0 is published with different content"),
        database.session_scope(cat_engine) as session,
    ):
        import_catalogue(session, cat)
    with database.session_scope(cat_engine) as session:
        names = session.exec(select(CatalogueNamespaceVersion.name_en)).all()
    assert "Extra" not in names


def test_import_refuses_invalid_catalogue(cat_engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("namespace: x\n", encoding="utf-8")
    cat = load_catalogue(tmp_path)
    with pytest.raises(Unprocessable) as info, database.session_scope(cat_engine) as session:
        import_catalogue(session, cat)
    where = info.value.errors[0].loc[0]
    assert isinstance(where, str)
    assert where.endswith("bad.yaml")


def test_published_rows_cannot_be_modified(cat_engine: Engine) -> None:
    with database.session_scope(cat_engine) as session:
        row = session.exec(
            select(CatalogueNamespaceVersion).where(CatalogueNamespaceVersion.status == "published")
        ).first()
        assert row is not None
        row.content_hash = "0" * 64
        with pytest.raises(Conflict, match="published and immutable"):
            session.flush()
        session.rollback()


def test_import_wrote_projection_rows(cat_engine: Engine) -> None:
    with database.session_scope(cat_engine) as session:
        n_ind = session.exec(select(func.count()).select_from(CatalogueIndicator)).one()
        n_std = session.exec(select(func.count()).select_from(CatalogueStandard)).one()
    assert n_ind >= 260
    assert n_std >= 87


@pytest.mark.postgres
def test_seed_imports_on_postgresql(fresh_database_url: str) -> None:
    from sqlalchemy import create_engine

    assert fresh_database_url.startswith("postgresql")
    database.upgrade(fresh_database_url)
    engine = create_engine(fresh_database_url)
    try:
        with database.session_scope(engine) as session:
            report = import_catalogue(session, load_catalogue(CATALOG_DIR))
        assert len(report.created) == 17
        with database.session_scope(engine) as session:
            report = import_catalogue(session, load_catalogue(CATALOG_DIR))
        assert report.created == []
    finally:
        engine.dispose()


def test_readiness_check(cat_engine: Engine, fresh_database_url: str) -> None:
    from sqlalchemy import create_engine

    from indicator_service.catalogue.service import catalogue_readiness

    with database.session_scope(cat_engine) as session:
        ok, detail = catalogue_readiness(session)
    assert ok
    assert detail.endswith(", 4 framework version(s) published")
    database.upgrade(fresh_database_url)
    empty = create_engine(fresh_database_url)
    try:
        with database.session_scope(empty) as session:
            assert catalogue_readiness(session) == (
                False,
                "0 namespace version(s), 0 framework version(s) published",
            )
    finally:
        empty.dispose()


def test_concurrent_version_insert_is_a_conflict(cat_engine: Engine) -> None:
    """Two units of work storing the same new version: the second gets 409, not a 500."""
    from indicator_service.catalogue.service import store_namespace
    from indicator_service.catalogue.source import NamespaceDoc

    doc = NamespaceDoc.model_validate(
        {
            "namespace": "race",
            "kind": "sector",
            "sector": "health",
            "code_prefix": "RCE",
            "name_zh": "并发",
            "name_en": "Race",
            "owner": "test",
            "version": "1.0.0",
        }
    )
    with database.session_scope(cat_engine) as first:
        store_namespace(first, doc)
    # simulate the loser: its own check ran before the winner committed, so force the insert
    from indicator_service.catalogue.models import CatalogueNamespace

    with database.session_scope(cat_engine) as session:
        ns = session.exec(select(CatalogueNamespace).where(CatalogueNamespace.code == "race")).one()
        dup = CatalogueNamespaceVersion(
            namespace_id=ns.id or 0,
            version="1.0.0",
            major=1,
            minor=0,
            patch=0,
            status="published",
            content_hash="0" * 64,
            name_zh="并发",
            name_en="Race",
            owner="test",
            document={},
        )
        session.add(dup)
        from indicator_service.catalogue.artefacts import flush_new_version

        with pytest.raises(Conflict, match="stored concurrently"):
            flush_new_version(session, "namespace race 1.0.0")
        session.rollback()
