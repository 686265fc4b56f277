"""Evaluation kinds, re-evaluations and the self-evaluation / re-evaluation comparison
(自评与再评价对比, 自评失真) on the seed SELF-EVAL framework. Expected values by hand:

self-evaluation (unit A, county 330102):
  budget 95.6 of 100 → 10 · 0.956 = 9.56; r1 100/100 → 30; r2 65/100 → 20 · 0.65 = 13;
  r3 500/500 → 30; r4 95/95 → 10; total 92.56 (优).
finance re-evaluation:
  9.56; r1 80/100 → 24; r2 13; r3 300/500 → 18; r4 85/95 → 10 · 0.8947 = 8.95; total 73.51 (中).
differences (re − self): total −19.05 > 10 (default) → 自评失真, overstated;
  r1 −6.00 = 20 % of 30 (not beyond) → not flagged; r3 −12.00 > 6 → flagged;
  r4 −1.05 ≤ 2 → not flagged.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from indicator_service.app import create_app
from indicator_service.auth.models import Role
from indicator_service.catalogue.source import (
    DEFAULT_REEVALUATION,
    FrameworkDoc,
    ReevaluationRules,
)
from indicator_service.catalogue.validation import load_catalogue
from indicator_service.catalogue.versioning import content_hash, diff_frameworks
from indicator_service.scoring.lookup import DocumentCatalogue
from tests.auth.fixtures import authenticate, issue_key
from tests.helpers import ApiClient, assert_problem, make_settings, use_documents
from tests.paths import CATALOG_DIR

ZH = {"Accept-Language": "zh-CN"}


def seed_frameworks() -> tuple[list[FrameworkDoc], list[Any]]:
    cat = load_catalogue(CATALOG_DIR)
    assert not cat.issues
    return [f for _, f in cat.frameworks], [n for _, n in cat.namespaces]


@pytest.fixture(scope="module")
def seed_app(database_url: str) -> Iterator[FastAPI]:
    frameworks, namespaces = seed_frameworks()
    app = create_app(make_settings(database_url))
    use_documents(app, DocumentCatalogue(frameworks, namespaces))
    yield app
    app.state.engine.dispose()


def client(app: FastAPI, regions: list[str] | None = None) -> ApiClient:
    key = issue_key(app.state.engine, app.state.settings, Role.evaluator, regions=regions)
    return authenticate(ApiClient(app), key)


@pytest.fixture(scope="module")
def unit_a(seed_app: FastAPI) -> ApiClient:
    return client(seed_app)


@pytest.fixture(scope="module")
def unit_b(seed_app: FastAPI) -> ApiClient:
    return client(seed_app)


@pytest.fixture(scope="module")
def province(seed_app: FastAPI) -> ApiClient:
    """A provincial finance department's key: region scope 330000 covers county 330102."""
    return client(seed_app, regions=["330000"])


def submission(project: str, r1: float, r3: float, r4: float, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "framework": "SELF-EVAL",
        "project": project,
        "unit": "U-EK",
        "region": "330102",
        "fiscal_year": 2024,
        "budget": {"adjusted": 100.0, "executed": 95.6},
        "rows": [
            row("r1", "产出指标", "数量指标", "培训人次", 30, 100, "人次", r1),
            row("r2", "产出指标", "质量指标", "培训合格率", 20, 100, "%", 65),
            row("r3", "效益指标", "社会效益指标", "受益人数", 30, 500, "人", r3),
            row("r4", "满意度指标", "服务对象满意度指标", "学员满意度", 10, 95, "%", r4),
        ],
    }
    body.update(changes)
    return body


def row(
    id_: str, l1: str, l2: str, name: str, points: float, target: float, unit: str, value: float
) -> dict[str, Any]:
    return {
        "id": id_,
        "class_l1": l1,
        "class_l2": l2,
        "name": name,
        "points": points,
        "operator": "≥",
        "target": target,
        "unit": unit,
        "value": value,
    }


def project() -> str:
    return f"P-EK-{uuid.uuid4().hex[:8]}"


def stored(api: ApiClient, body: dict[str, Any]) -> dict[str, Any]:
    r = api.post("/v1/evaluations", json=body)
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def test_self_evaluation_re_evaluated_lower_is_flagged_distorted(
    unit_a: ApiClient, province: ApiClient
) -> None:
    p = project()
    own = stored(unit_a, submission(p, 100, 500, 95))
    assert (own["kind"], own["reevaluates"], own["total"], own["grade"]) == (
        "self",
        None,
        92.56,
        "优",
    )
    re = stored(province, submission(p, 80, 300, 85, kind="finance", reevaluates=own["id"]))
    assert (re["kind"], re["reevaluates"], re["total"], re["grade"]) == (
        "finance",
        own["id"],
        73.51,
        "中",
    )
    # the same comparison from either end
    by_self = unit_a.get(f"/v1/evaluations/{own['id']}/comparison")
    assert by_self.status_code == 404  # unit A may not read the province's re-evaluation
    for api, ev_id in ((province, own["id"]), (province, re["id"])):
        r = api.get(f"/v1/evaluations/{ev_id}/comparison")
        assert r.status_code == 200, r.text
        cmp = r.json()
        assert (cmp["self_evaluation"]["id"], cmp["reevaluation"]["id"]) == (own["id"], re["id"])
        assert cmp["total_difference"] == -19.05
        assert cmp["distorted"] is True
        assert cmp["direction"] == "overstated"
        assert cmp["grade_changed"] is True
        assert cmp["rule"] == {"total_points": 10.0, "leaf_share": 0.2, "source": "default"}
        assert (cmp["kind_zh"], cmp["kind_en"]) == ("财政评价", "finance evaluation")
        leaves = {lf["code"]: lf for lf in cmp["leaves"]}
        assert (leaves["r1"]["difference"], leaves["r1"]["distorted"]) == (-6.0, False)
        assert (leaves["r3"]["difference"], leaves["r3"]["distorted"]) == (-12.0, True)
        assert (leaves["r4"]["self_score"], leaves["r4"]["reevaluation_score"]) == (10.0, 8.95)
        assert (leaves["r4"]["difference"], leaves["r4"]["distorted"]) == (-1.05, False)
        assert (leaves["EXEC"]["difference"], leaves["EXEC"]["distorted"]) == (0.0, False)
        nodes = {n["code"]: n for n in cmp["nodes"]}
        assert (nodes["OUT"]["self_score"], nodes["OUT"]["reevaluation_score"]) == (43.0, 37.0)
        assert "自评失真" in cmp["explanation_zh"]
        assert "受益人数" in cmp["explanation_zh"]
        assert "distorted (overstated)" in cmp["explanation_en"]
    # both evaluations with their labels, in the language asked
    for header, names in (
        ("zh-CN", ("优", "中", "单位自评", "财政评价")),
        ("en", ("Excellent", "Fair", "unit self-evaluation", "finance evaluation")),
    ):
        cmp = province.get(
            f"/v1/evaluations/{re['id']}/comparison", headers={"accept-language": header}
        ).json()
        own_out, re_out = cmp["self_evaluation"], cmp["reevaluation"]
        assert (own_out["grade_label"], re_out["grade_label"]) == names[:2]
        assert (own_out["kind_label"], re_out["kind_label"]) == names[2:]


def test_a_small_difference_is_not_distorted_and_kinds_filter_the_list(
    unit_a: ApiClient,
) -> None:
    p = project()
    own = stored(unit_a, submission(p, 100, 500, 95))
    # department re-evaluation: r1 90/100 → 27, total 89.56: −3.00 (not beyond 10)
    re = stored(unit_a, submission(p, 90, 500, 95, kind="department", reevaluates=own["id"]))
    cmp = unit_a.get(f"/v1/evaluations/{own['id']}/comparison").json()
    assert (cmp["total_difference"], cmp["distorted"], cmp["grade_changed"]) == (-3.0, False, True)
    assert "未认定自评失真" in cmp["explanation_zh"]
    # r1 −3.00 is not beyond 6 (20 % of 30)
    assert not any(lf["distorted"] for lf in cmp["leaves"])
    listed = unit_a.get("/v1/evaluations", params={"project": p, "kind": "department"}).json()
    assert [i["id"] for i in listed["items"]] == [re["id"]]
    selfs = unit_a.get("/v1/evaluations", params={"project": p, "kind": "self"}).json()
    assert [i["id"] for i in selfs["items"]] == [own["id"]]
    of_own = unit_a.get("/v1/evaluations", params={"reevaluates": own["id"]}).json()
    assert [i["id"] for i in of_own["items"]] == [re["id"]]
    assert_problem(unit_a.get("/v1/evaluations", params={"kind": "expert"}), 422)


def test_reevaluating_what_the_key_may_not_read_is_refused(
    unit_a: ApiClient, unit_b: ApiClient
) -> None:
    p = project()
    own = stored(unit_a, submission(p, 100, 500, 95))
    before = unit_b.get("/v1/evaluations", params={"project": p}).json()["total"]
    problem = assert_problem(
        unit_b.post(
            "/v1/evaluations",
            json=submission(p, 80, 300, 85, kind="third_party", reevaluates=own["id"]),
        ),
        422,
    )
    assert [e["loc"] for e in problem["errors"]] == [["body", "reevaluates"]]
    assert unit_b.get("/v1/evaluations", params={"project": p}).json()["total"] == before == 0
    assert_problem(unit_b.get(f"/v1/evaluations/{own['id']}/comparison"), 404)


def test_bad_reevaluation_names_every_field_and_stores_nothing(unit_a: ApiClient) -> None:
    p = project()
    own = stored(unit_a, submission(p, 100, 500, 95))
    bad = submission("P-OTHER", 80, 300, 85, kind="self", reevaluates=own["id"], fiscal_year=2023)
    bad["rows"][1]["points"] = 25  # 产出 30 + 25 ≠ 50
    problem = assert_problem(unit_a.post("/v1/evaluations", json=bad), 422)
    locs = [e["loc"] for e in problem["errors"]]
    assert ["body", "kind"] in locs
    assert ["body", "project"] in locs
    assert ["body", "fiscal_year"] in locs
    assert any(e["type"] == "points_do_not_add_up" for e in problem["errors"])
    # the re-evaluation's messages in the language asked (scoring/evaluations.py)
    zh = assert_problem(unit_a.post("/v1/evaluations", json=bad, headers=ZH), 422)
    assert [e["loc"] for e in zh["errors"]] == locs
    msgs = {
        e["loc"][-1]: (z["msg"], e["msg"])
        for e, z in zip(problem["errors"], zh["errors"], strict=True)
    }
    assert msgs["kind"] == (
        "再评价不能是单位自评：请给出 department、finance 或 third_party",
        "a re-evaluation is not a self-evaluation: give department, finance or third_party",
    )
    assert msgs["project"] == (
        f"再评价须与被评价的评价 {own['id']} 属同一项目（{p}）",
        f"a re-evaluation must name the project of evaluation {own['id']} ({p})",
    )
    assert msgs["fiscal_year"] == (
        f"再评价须与被评价的评价 {own['id']} 属同一年度（2024）",
        f"a re-evaluation must be of the fiscal year of evaluation {own['id']} (2024)",
    )
    assert unit_a.get("/v1/evaluations", params={"project": "P-OTHER"}).json()["total"] == 0
    assert unit_a.get("/v1/evaluations", params={"reevaluates": own["id"]}).json()["total"] == 0
    # an unknown id and a non-integer
    gone = submission(p, 80, 300, 85, kind="finance", reevaluates=2**31 - 2)
    problem = assert_problem(unit_a.post("/v1/evaluations", json=gone), 422)
    assert [e["loc"] for e in problem["errors"]] == [["body", "reevaluates"]]
    text = submission(p, 80, 300, 85, kind="finance", reevaluates=str(own["id"]))
    assert_problem(unit_a.post("/v1/evaluations", json=text), 422)


def test_reevaluating_an_evaluation_without_project_names_none(unit_a: ApiClient) -> None:
    """The project of an evaluation stored without one is "none given" (未填) in the message."""
    own = stored(unit_a, {k: v for k, v in submission("", 100, 500, 95).items() if k != "project"})
    body = submission(project(), 80, 300, 85, kind="finance", reevaluates=own["id"])
    en = assert_problem(unit_a.post("/v1/evaluations", json=body), 422)
    zh = assert_problem(unit_a.post("/v1/evaluations", json=body, headers=ZH), 422)
    assert [(e["loc"], e["type"]) for e in en["errors"]] == [
        (["body", "project"], "reevaluation_project")
    ]
    assert en["errors"][0]["msg"] == (
        f"a re-evaluation must name the project of evaluation {own['id']} (none given)"
    )
    assert zh["errors"][0]["msg"] == f"再评价须与被评价的评价 {own['id']} 属同一项目（未填）"
    assert (en["detail"], zh["detail"]) == (
        "the re-evaluation cannot be stored as given",
        "无法按所给内容保存再评价",
    )


def test_an_evaluation_never_re_evaluated_has_no_comparison(unit_a: ApiClient) -> None:
    own = stored(unit_a, submission(project(), 100, 500, 95))
    url = f"/v1/evaluations/{own['id']}/comparison"
    problem = assert_problem(unit_a.get(url), 404)
    assert problem["errors"][0]["type"] == "no_reevaluation"
    # scoring/reevaluation.py's messages in the language asked
    zh = assert_problem(unit_a.get(url, headers=ZH), 404)
    assert (zh["detail"], zh["errors"][0]["msg"]) == (
        f"评价 {own['id']} 没有本密钥可读的再评价",
        f"评价 {own['id']} 尚无再评价",
    )
    assert (problem["detail"], problem["errors"][0]["msg"]) == (
        f"evaluation {own['id']} has no re-evaluation that this key may read",
        f"evaluation {own['id']} has not been re-evaluated",
    )


def test_the_framework_threshold_applies(database_url: str) -> None:
    frameworks, namespaces = seed_frameworks()
    stricter = [
        f.model_copy(
            update={
                "reevaluation": ReevaluationRules(distortion_points=20.0, leaf_distortion_share=0.5)
            }
        )
        if f.framework == "SELF-EVAL"
        else f
        for f in frameworks
    ]
    docs = [FrameworkDoc.model_validate(f.model_dump()) for f in stricter]
    app = create_app(make_settings(database_url))
    use_documents(app, DocumentCatalogue(docs, namespaces))
    api = client(app)
    p = project()
    own = stored(api, submission(p, 100, 500, 95))
    stored(api, submission(p, 80, 300, 85, kind="finance", reevaluates=own["id"]))
    cmp = api.get(f"/v1/evaluations/{own['id']}/comparison").json()
    assert cmp["rule"] == {"total_points": 20.0, "leaf_share": 0.5, "source": "framework"}
    # −19.05 is not beyond 20; r3 −12 is not beyond 15 (half of 30)
    assert (cmp["total_difference"], cmp["distorted"]) == (
        -19.05,
        False,
    )
    assert not any(lf["distorted"] for lf in cmp["leaves"])
    app.state.engine.dispose()


def test_the_distortion_rule_is_validated_and_a_minor_change() -> None:
    frameworks, _ = seed_frameworks()
    seed = next(f for f in frameworks if f.framework == "SELF-EVAL")
    data = seed.model_dump(mode="json")
    for bad in (
        {"distortion_points": 0},
        {"distortion_points": 101},
        {"distortion_points": 10, "leaf_distortion_share": 1.5},
        {"distortion_points": "10"},
        {"distortion_points": 10, "extra": 1},
    ):
        with pytest.raises(ValidationError):
            FrameworkDoc.model_validate({**data, "reevaluation": bad})
    # absent: the content hash of the seed is what it was; stating it is a minor change
    assert "reevaluation" not in data or data["reevaluation"] is None
    stated = FrameworkDoc.model_validate({**data, "reevaluation": {"distortion_points": 10}})
    assert content_hash(stated) != content_hash(seed)
    assert diff_frameworks(seed, stated).required_bump == "minor"
    assert DEFAULT_REEVALUATION.distortion_points == 10.0
