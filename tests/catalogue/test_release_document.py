"""A framework read for scoring is the document that was published, every field of it: the
release built from the database must not drop a field on the way (issue #20: a field renamed
between the stored JSON, the release and the scoring document was silently lost)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from indicator_service.catalogue.source import FrameworkDoc
from indicator_service.catalogue.validation import load_catalogue
from indicator_service.core import database
from indicator_service.scoring.lookup import DatabaseCatalogue, allow_drafts
from tests.paths import CATALOG_DIR

SEED = load_catalogue(CATALOG_DIR)


@pytest.mark.parametrize(
    "source", [doc for _src, doc in SEED.frameworks], ids=lambda d: f"{d.framework}@{d.version}"
)
def test_the_scoring_document_is_the_published_document(
    cat_engine: Engine, source: FrameworkDoc
) -> None:
    with database.session_scope(cat_engine) as session:
        got = (
            DatabaseCatalogue(session, drafts=allow_drafts)
            .framework(source.framework, source.version)
            .doc
        )
    # every header field, as published
    assert got.model_dump(exclude={"nodes"}) == source.model_dump(exclude={"nodes"})
    # every node, in tree order, with its own fields as published (the rule is the resolved one)
    assert sorted(n.code for n in got.nodes) == sorted(n.code for n in source.nodes)
    published = {n.code: n.model_dump(exclude={"rule"}) for n in source.nodes}
    for node in got.nodes:
        assert node.model_dump(exclude={"rule"}) == published[node.code]
        own = next(n for n in source.nodes if n.code == node.code).rule
        if own is not None:  # a node's own rule is kept (variants may add defaults to it)
            assert own.items() <= (node.rule or {}).items()


def test_every_document_field_reaches_scoring() -> None:
    # a field added to FrameworkDoc that has no value in any seed framework would not be
    # checked above: name the fields the seed frameworks leave at their default
    unused = {
        f
        for f in FrameworkDoc.model_fields
        if all(f not in doc.model_fields_set for _src, doc in SEED.frameworks)
    }
    # (standard_precedence is set by the standards tests' own frameworks, reevaluation by the
    # re-evaluation tests': no seed framework states a distortion rule yet)
    allowed = {"not_applicable_policy", "description", "standard_precedence", "reevaluation"}
    assert unused <= allowed, unused
