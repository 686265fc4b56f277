"""One versioned-artefact implementation for namespaces and frameworks (catalogue/artefacts.py)
and the workflows of catalogue/service.py: what used to drift between the two kinds, and the
audit entry of every way of publishing (API and ``catalog import``)."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from indicator_service.audit.models import AuditEntry
from indicator_service.auth.principal import CLI_OPERATOR
from indicator_service.catalogue import artefacts, service
from indicator_service.catalogue.artefacts import Kind
from indicator_service.catalogue.review import KINDS
from indicator_service.catalogue.versioning import content_hash
from indicator_service.cli import main
from indicator_service.core import database
from indicator_service.core.errors import Conflict
from tests.paths import CATALOG_DIR

STALE = "0" * 64


@pytest.mark.parametrize(("kind", "code"), [("namespace", "health"), ("framework", "SELF-EVAL")])
def test_publish_recomputes_the_content_hash_for_both_kinds(
    cat_engine: Engine, kind: Kind, code: str
) -> None:
    """A draft whose stored hash does not match its document (e.g. a hash rule that changed
    since it was written) is published with the hash of what is published. Before, only the
    namespace publish recomputed it: a framework kept the stale hash as its ETag and cache key."""
    art = KINDS[kind]
    with database.session_scope(cat_engine) as session:
        draft = artefacts.create_draft(session, art, code)
        row = artefacts.version_row(session, art, code, draft.version)
        session.execute(
            update(art.version_model)
            .where(col(art.version_model.id) == row.id)
            .values(content_hash=STALE)
        )
    with database.session_scope(cat_engine) as session:
        rel, diff = service.publish(session, CLI_OPERATOR, kind, code, draft.version, None)
        expected = content_hash(
            artefacts.doc_of(art, artefacts.version_row(session, art, code, rel.version))
        )
    assert diff.required_bump == "none"
    assert rel.status == "published"
    assert rel.content_hash == expected != STALE
    with Session(cat_engine) as session:
        stored = artefacts.version_row(session, art, code, rel.version)
        assert stored.content_hash == expected
        entry = session.exec(
            select(AuditEntry).where(
                AuditEntry.action == "version.publish",
                AuditEntry.object_id == f"{code}@{rel.version}",
            )
        ).one()
        assert entry.namespace == ("health" if kind == "namespace" else "common")
        assert entry.after is not None
        assert entry.after["content_hash"] == expected
    # published: immutable, and deprecation is the one transition left
    with database.session_scope(cat_engine) as session, pytest.raises(Conflict):
        artefacts.publish(session, art, code, rel.version, None)
    with database.session_scope(cat_engine) as session:
        assert service.deprecate(session, CLI_OPERATOR, kind, code, rel.version).status == (
            "deprecated"
        )


@pytest.mark.parametrize(
    ("kind", "code"), [("namespace", "education"), ("framework", "DEPT-OVERALL")]
)
def test_one_draft_at_a_time_for_both_kinds(cat_engine: Engine, kind: Kind, code: str) -> None:
    with database.session_scope(cat_engine) as session:
        service.create_draft(session, CLI_OPERATOR, kind, code)
    with database.session_scope(cat_engine) as session, pytest.raises(Conflict) as exc:
        service.create_draft(session, CLI_OPERATOR, kind, code)
    assert exc.value.slug == "draft-exists"


def test_cli_catalog_import_publishes_with_audit_entries(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``catalog import`` goes through the service's import workflow: every version it
    publishes has a ``version.publish`` audit entry by the CLI operator; a re-import that
    changes nothing records nothing."""
    from indicator_service.core.settings import get_settings

    monkeypatch.setenv("INDICATOR_DATABASE_URL", fresh_database_url)
    get_settings.cache_clear()
    try:
        database.upgrade(fresh_database_url)
        assert main(["catalog", "import", str(CATALOG_DIR)]) == 0
        assert main(["catalog", "import", str(CATALOG_DIR)]) == 0
        capsys.readouterr()
        engine = database.make_engine(get_settings())
        try:
            with Session(engine) as session:
                entries = session.exec(
                    select(AuditEntry).where(AuditEntry.action == "version.publish")
                ).all()
        finally:
            engine.dispose()
    finally:
        get_settings.cache_clear()
    assert len(entries) == 17
    assert {e.comment for e in entries} == {service.IMPORT_COMMENT}
    assert {(e.actor_name, e.actor_role, e.actor_key_id) for e in entries} == {
        ("cli", "admin", None)
    }
    by_id = {e.object_id: e for e in entries}
    assert by_id["health@1.0.0"].object_type == "namespace_version"
    assert by_id["health@1.0.0"].namespace == "health"
    assert by_id["SELF-EVAL@1.2.0"].object_type == "framework_version"
    assert by_id["SELF-EVAL@1.2.0"].namespace == "common"
    assert by_id["SELF-EVAL@1.2.0"].after is not None
    assert len(by_id["SELF-EVAL@1.2.0"].after["content_hash"]) == 64
