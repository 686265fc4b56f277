"""Grade consequences are framework data with their source named (issue 14 item 8).

The seed frameworks state what each grade means for the budget and the document that says so;
the default (frameworks without bands of their own) is the 2020 national rule's wording for
policies and projects; DEPT-OVERALL has its own; a locality publishes its own wording as a
framework version, and the receipt follows the version scored.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from indicator_service import rules as scoring_engine
from indicator_service.app import create_app
from indicator_service.catalogue.service import store_framework
from indicator_service.catalogue.source import (
    DEFAULT_BANDS,
    DEFAULT_CONSEQUENCES,
    FrameworkDoc,
)
from indicator_service.catalogue.validation import SourceDoc, load_catalogue, validate_documents
from indicator_service.catalogue.versioning import content_hash
from indicator_service.core.database import session_scope
from tests.helpers import ApiClient, make_settings, use_documents
from tests.paths import CATALOG_DIR, REPO_ROOT
from tests.scoring.frameworks import COMMON, self_evaluation
from tests.scoring.test_class_totals import row, submission

SUPPORT = "根据情况予以支持"
REDUCE = "完善政策、改进管理，根据情况核减预算"


@pytest.fixture(scope="module")
def seed_api(database_url: str, client_key: str) -> Iterator[ApiClient]:
    from indicator_service.scoring.lookup import DocumentCatalogue

    cat = load_catalogue(CATALOG_DIR)
    assert not cat.issues
    app: FastAPI = create_app(make_settings(database_url))
    use_documents(
        app, DocumentCatalogue([f for _, f in cat.frameworks], [n for _, n in cat.namespaces])
    )
    client = ApiClient(app)
    client._client.headers["Authorization"] = f"Bearer {client_key}"
    yield client
    client.close()
    app.state.engine.dispose()


def self_eval(out_value: float) -> dict[str, Any]:
    """SELF-EVAL with 产出 at ``out_value`` % of its target (everything else on target)."""
    return submission(
        row("o1", "产出指标", 50, "数量指标", value=out_value, explanation="原因及措施"),
        row("b1", "效益指标", 30, "社会效益指标"),
        row("s1", "满意度指标", 10, "服务对象满意度指标"),
    )


def test_the_default_consequences_are_the_national_rule_and_in_one_place() -> None:
    assert {b["grade"]: b["recommendation_zh"] for b in DEFAULT_BANDS} == {
        "优": SUPPORT,
        "良": SUPPORT,
        "中": REDUCE,
        "差": REDUCE,
    }
    # the engine only grades: no consequence of its own
    assert all(b.recommendation_zh is None for b in scoring_engine.DEFAULT_BANDS)
    # nothing in the package still says what no seed document says
    words = "取消或暂停"
    found = [
        str(p.relative_to(REPO_ROOT))
        for p in (REPO_ROOT / "indicator_service").rglob("*")
        if p.suffix in (".py", ".js", ".html") and words in p.read_text(encoding="utf-8")
    ]
    assert found == []
    doc = self_evaluation()  # a framework without bands of its own
    assert doc.consequences_source is not None
    assert (doc.consequences_source.issuer, doc.consequences_source.doc_number) == (
        "财政部",
        "财预〔2020〕10号",
    )


@pytest.mark.parametrize(
    ("value", "grade", "words"),
    [(100.0, "优", SUPPORT), (70.0, "良", SUPPORT), (40.0, "中", REDUCE), (0.0, "差", REDUCE)],
)
def test_seed_self_evaluation_receipts_name_the_consequence_and_its_source(
    seed_api: ApiClient, value: float, grade: str, words: str
) -> None:
    r = seed_api.post("/v1/score", json=self_eval(value))
    assert r.status_code == 200, r.text
    g = r.json()["grade"]
    assert (g["grade"], g["recommendation_zh"]) == (grade, words)
    assert g["recommendation_en"] == DEFAULT_CONSEQUENCES[grade][1]
    src = g["consequences_source"]
    assert (src["issuer"], src["title"], src["doc_number"]) == (
        "财政部",
        "项目支出绩效评价管理办法",
        "财预〔2020〕10号",
    )
    assert src["section"]


def test_the_department_framework_has_its_own_wording() -> None:
    cat = load_catalogue(CATALOG_DIR)
    docs = {f.framework: f for _, f in cat.frameworks}
    dept = {b.grade: b.recommendation_zh for b in docs["DEPT-OVERALL"].bands}
    assert dept == {
        "优": "下年度部门预算加强保障",
        "良": "下年度部门预算加强保障",
        "中": "下年度部门预算从严从紧控制",
        "差": "核减下年度部门预算",
    }
    assert docs["DEPT-OVERALL"].consequences_source is not None
    for code in ("SELF-EVAL", "SELF-EVAL-2021", "PRJ-2020"):
        assert {b.grade: b.recommendation_zh for b in docs[code].bands} == {
            "优": SUPPORT,
            "良": SUPPORT,
            "中": REDUCE,
            "差": REDUCE,
        }


def _validate(doc: dict[str, Any]) -> list[str]:
    ns = SourceDoc("common.yaml", COMMON.model_dump(mode="json", exclude_none=True), {})
    cat = validate_documents([ns, SourceDoc("fw.yaml", doc, {})])
    return [i.message for i in cat.issues]


def test_catalogue_validation_wants_the_source_and_every_grade() -> None:
    base = self_evaluation().model_dump(mode="json", exclude_none=True)
    assert _validate(base) == []
    bands = [dict(b) for b in DEFAULT_BANDS]
    no_source = {**base, "bands": bands}
    no_source.pop("consequences_source")
    [msg] = _validate(no_source)
    assert "consequences_source" in msg
    missing_grade = {**base, "bands": [*bands[:3], {**bands[3], "recommendation_zh": None}]}
    [msg] = _validate(missing_grade)
    assert msg.startswith("band 差: give its consequence")
    # bands without consequences and no source: nothing is claimed, nothing is asked
    bare = {**base, "bands": [{k: b[k] for k in ("grade", "name_en", "min", "max")} for b in bands]}
    bare.pop("consequences_source")
    assert _validate(bare) == []


LOCAL = {
    "issuer": "某市财政局",
    "title": "某市项目支出绩效评价结果应用办法",
    "doc_number": "某财绩〔2022〕1号",
    "year": 2022,
    "section": "第十条",
}
LOCAL_BANDS = [
    {**b, "recommendation_zh": zh, "recommendation_en": en}
    for b, (zh, en) in zip(
        DEFAULT_BANDS,
        [
            ("后续资金优先保障", "follow-up funds first"),
            ("后续资金优先保障", "follow-up funds first"),
            ("分析原因并整改", "explain the causes and rectify"),
            ("分析原因并整改", "explain the causes and rectify"),
        ],
        strict=True,
    )
]


def test_a_locality_version_with_its_own_consequences_changes_the_receipt(
    engine: Engine, eapi: ApiClient
) -> None:
    """Stored as framework versions in the database: 1.0.0 with the default wording, 2.0.0 a
    locality's; the stored document keeps the source and each receipt follows its version."""
    code = f"CONSEQ-{uuid.uuid4().hex[:6].upper()}"
    v1 = self_evaluation("1.0.0", framework=code, requires={})
    v2 = FrameworkDoc.model_validate(
        {
            **v1.model_dump(mode="json"),
            "version": "2.0.0",
            "bands": LOCAL_BANDS,
            "consequences_source": LOCAL,
        }
    )
    with session_scope(engine) as s:
        store_framework(s, v1)
        stored = store_framework(s, v2)[0]
        assert stored.document["consequences_source"]["doc_number"] == LOCAL["doc_number"]
    body = {
        "framework": code,
        "budget": {"adjusted": 100.0, "executed": 100.0},
        "rows": [
            {
                "id": "o",
                "class_l1": "产出",
                "points": 50,
                "operator": "≥",
                "target": 100,
                "unit": "%",
                "value": 100,
            },
            {
                "id": "b",
                "class_l1": "效益",
                "points": 30,
                "operator": "≥",
                "target": 100,
                "unit": "%",
                "value": 100,
            },
            {
                "id": "s",
                "class_l1": "满意度",
                "points": 10,
                "operator": "≥",
                "target": 100,
                "unit": "%",
                "value": 100,
            },
        ],
    }
    one = eapi.post("/v1/score", json={**body, "version": "1.0.0"})
    two = eapi.post("/v1/score", json={**body, "version": "2.0.0"})
    assert one.status_code == 200, one.text
    assert two.status_code == 200, two.text
    g1, g2 = one.json()["grade"], two.json()["grade"]
    assert (g1["grade"], g2["grade"]) == ("优", "优")
    assert g1["recommendation_zh"] == SUPPORT
    assert g1["consequences_source"]["doc_number"] == "财预〔2020〕10号"
    assert g2["recommendation_zh"] == "后续资金优先保障"
    assert g2["consequences_source"] == {**LOCAL, "url": None, "note": None}
    assert one.json()["total"] == two.json()["total"]


def test_stored_documents_without_a_source_keep_their_hash() -> None:
    """A framework document stored before consequences_source existed (bands given, no
    source) has the same content and hash as before."""
    doc = self_evaluation().model_dump(mode="json")
    doc["bands"] = [{k: b[k] for k in ("grade", "name_en", "min", "max")} for b in DEFAULT_BANDS]
    doc.pop("consequences_source")
    doc.pop("level_synonyms", None)  # stored before either field existed
    model = FrameworkDoc.model_validate(doc)
    assert model.consequences_source is None
    old = model.model_dump(
        mode="json",
        exclude={
            "version",
            "consequences_source",
            "level_synonyms",
            "monitoring",
            "target_review",
            "reevaluation",
        },
    )
    assert content_hash(model) == content_hash(old)


def test_what_if_bands_are_not_attributed_to_the_framework_source(seed_api: ApiClient) -> None:
    bands = [{**b, "recommendation_zh": "自定", "recommendation_en": "own"} for b in DEFAULT_BANDS]
    r = seed_api.post(
        "/v1/score/what-if", json={"submission": self_eval(100.0), "overrides": {"bands": bands}}
    )
    assert r.status_code == 200, r.text
    assert r.json()["official"]["grade"]["consequences_source"]["doc_number"] == "财预〔2020〕10号"
    assert r.json()["what_if"]["grade"]["recommendation_zh"] == "自定"
    assert r.json()["what_if"]["grade"]["consequences_source"] is None


def test_seed_yaml_states_consequences_explicitly() -> None:
    for path in sorted((CATALOG_DIR / "frameworks").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert data["consequences_source"]["issuer"], path.name
        assert all(b["recommendation_zh"] for b in data["bands"]), path.name
