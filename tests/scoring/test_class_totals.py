"""Class totals are enforced at every level that fixes them (issue 14, items 1 and 2).

The seed frameworks as they ship (catalog/frameworks/*.yaml) give SELF-EVAL 预算执行率 10,
产出 50, 效益 30, 满意度 10, with open level-2 classes of 0 points under each: the project's
rows carry the points, and the rows under a level-1 class must add up to its points whether or
not they name a level-2 class. A class with no rows is a 422; a submission marks a class not
applicable with its rows, each ``not_applicable``. An empty submission is a 422.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indicator_service.app import create_app
from indicator_service.catalogue.validation import load_catalogue
from indicator_service.core.errors import Unprocessable
from indicator_service.core.i18n import CHINESE, language
from indicator_service.scoring import receipts
from indicator_service.scoring.lookup import DocumentCatalogue
from indicator_service.scoring.schemas import ScoreRequest
from tests.helpers import ApiClient, assert_problem, make_settings, use_documents
from tests.paths import CATALOG_DIR

BUDGET = {"adjusted": 100.0, "executed": 100.0}


@pytest.fixture(scope="module")
def seed() -> DocumentCatalogue:
    cat = load_catalogue(CATALOG_DIR)
    assert not cat.issues
    return DocumentCatalogue([f for _, f in cat.frameworks], [n for _, n in cat.namespaces])


@pytest.fixture(scope="module")
def seed_api(database_url: str, seed: DocumentCatalogue, client_key: str) -> Iterator[ApiClient]:
    app: FastAPI = create_app(make_settings(database_url))
    use_documents(app, seed)
    client = ApiClient(app)
    client._client.headers["Authorization"] = f"Bearer {client_key}"
    yield client
    client.close()
    app.state.engine.dispose()


def row(rid: str, l1: str, points: float, l2: str | None = None, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": rid,
        "class_l1": l1,
        "points": points,
        "operator": "≥",
        "target": 100.0,
        "unit": "%",
        "value": 100.0,
    }
    if l2 is not None:
        out["class_l2"] = l2
    return {**out, **kw}


ZH = {"Accept-Language": "zh-CN"}


def submission(*rows: dict[str, Any], framework: str = "SELF-EVAL") -> dict[str, Any]:
    return {"framework": framework, "budget": BUDGET, "rows": list(rows)}


def test_the_issues_example_scored_100_and_is_now_refused(seed_api: ApiClient) -> None:
    """产出 80 + 满意度 10 with no 效益, rows naming their 二级指标: was 100.0 优."""
    body = submission(
        row("q1", "产出指标", 40, "数量指标"),
        row("q2", "产出指标", 40, "质量指标"),
        row("s1", "满意度指标", 10, "服务对象满意度指标"),
    )
    problem = assert_problem(seed_api.post("/v1/score", json=body, headers=ZH), 422)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for e in problem["errors"]:
        by_type.setdefault(e["type"], []).append(e)
    assert [e["loc"] for e in by_type["points_do_not_add_up"]] == [
        ["body", "rows", 0, "points"],
        ["body", "rows", 1, "points"],
    ]
    assert by_type["points_do_not_add_up"][0]["msg"] == "产出指标各行分值合计 80，框架规定为 50"
    [missing] = by_type["class_without_rows"]
    assert missing["loc"] == ["body", "rows"]
    assert missing["msg"].startswith("效益指标（BEN）没有指标行，框架规定为 30 分")
    english = assert_problem(seed_api.post("/v1/score", json=body), 422)["errors"]
    assert "产出指标 rows add up to 80; the framework gives 50" in [e["msg"] for e in english]
    assert any("效益指标 (BEN) has no rows; the framework gives 30" in e["msg"] for e in english)
    assert set(by_type) == {"points_do_not_add_up", "class_without_rows"}


@pytest.mark.parametrize("framework", ["SELF-EVAL", "SELF-EVAL-2021"])
@pytest.mark.parametrize("split", [(30, 22), (10, 20)])
def test_output_rows_under_level_2_classes_must_add_up(
    seed_api: ApiClient, seed: DocumentCatalogue, framework: str, split: tuple[int, int]
) -> None:
    out_points = seed.framework(framework, None).doc.nodes[1].points  # OUT: 50 or 40
    others = [row("b1", "BEN", 30, "BEN.SOC"), row("s1", "SAT", 10, "SAT.SVC")]
    if framework == "SELF-EVAL-2021":
        others.append(row("c1", "CST", 10, "CST.ECO", operator="≤", target=100.0))
    a, b = split
    body = submission(
        row("o1", "OUT", a, "OUT.QTY"), row("o2", "OUT", b, "OUT.QLT"), *others, framework=framework
    )
    problem = assert_problem(seed_api.post("/v1/score", json=body, headers=ZH), 422)
    assert problem["errors"] == [
        {
            "loc": ["body", "rows", i, "points"],
            "msg": f"产出指标各行分值合计 {a + b}，框架规定为 {out_points:g}",
            "type": "points_do_not_add_up",
        }
        for i in (0, 1)
    ]
    # the same rows with the class's points are accepted and score 100
    body["rows"][0]["points"] = out_points - b
    r = seed_api.post("/v1/score", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["total"] == 100.0


def test_a_class_marked_not_applicable_by_its_rows_is_rebased(seed_api: ApiClient) -> None:
    body = submission(
        row("o1", "产出指标", 50, "数量指标", value=80.0),
        row("b1", "效益指标", 30, "社会效益指标", value=None, not_applicable=True),
        row("s1", "满意度指标", 10),
    )
    r = seed_api.post("/v1/score", json=body)
    assert r.status_code == 200, r.text
    receipt = r.json()
    # (10 + 40 + 10) · 100 / 70
    assert receipt["applicable_points"] == 70.0
    assert receipt["total"] == round(60 * 100 / 70, 2)
    ben = next(n for n in receipt["nodes"] if n["code"] == "BEN")
    assert (ben["points"], ben["applicable_points"]) == (30.0, 0.0)
    # leaving the class out instead is refused
    del body["rows"][1]
    problem = assert_problem(seed_api.post("/v1/score", json=body), 422)
    assert [e["type"] for e in problem["errors"]] == ["class_without_rows"]


def test_a_level_2_class_with_points_is_enforced_too(seed: DocumentCatalogue) -> None:
    """A locality's version that fixes 数量指标 at 20 of 产出's 50."""
    fw = seed.framework("SELF-EVAL", None)
    nodes = [
        n.model_copy(update={"points": 20.0}) if n.code == "OUT.QTY" else n for n in fw.doc.nodes
    ]
    doc = fw.doc.model_copy(update={"version": "1.1.0", "nodes": nodes})
    cat = DocumentCatalogue([doc], seed._namespaces)
    ok = [row("b1", "BEN", 30), row("s1", "SAT", 10)]
    bad = ScoreRequest.model_validate(
        submission(row("q", "OUT", 25, "OUT.QTY"), row("t", "OUT", 25, "OUT.TIM"), *ok)
    )
    with pytest.raises(Unprocessable) as exc, language(CHINESE):
        receipts.score(bad, cat)
    assert [(e.loc, e.type) for e in exc.value.errors] == [
        (["body", "rows", 0, "points"], "points_do_not_add_up")
    ]
    assert exc.value.errors[0].msg == "数量指标各行分值合计 25，框架规定为 20"
    # no row names 数量指标: the class has no rows
    none = ScoreRequest.model_validate(submission(row("t", "OUT", 50, "OUT.TIM"), *ok))
    with pytest.raises(Unprocessable) as exc:
        receipts.score(none, cat)
    assert [e.type for e in exc.value.errors] == ["class_without_rows"]
    good = ScoreRequest.model_validate(
        submission(row("q", "OUT", 20, "OUT.QTY"), row("t", "OUT", 30, "OUT.TIM"), *ok)
    )
    assert receipts.score(good, cat).total == 100.0


@pytest.mark.parametrize("framework", ["PRJ-2020", "DEPT-OVERALL", "SELF-EVAL"])
def test_an_empty_submission_is_refused(seed_api: ApiClient, framework: str) -> None:
    body = {"framework": framework}
    problem = assert_problem(seed_api.post("/v1/score", json=body, headers=ZH), 422)
    empty = [e for e in problem["errors"] if e["type"] == "empty_submission"]
    assert empty == [
        {
            "loc": ["body"],
            "msg": "提交内容为空：没有指标行、实际完成值或预算数",
            "type": "empty_submission",
        }
    ]
    problem = assert_problem(seed_api.post("/v1/score", json=body), 422)
    assert [e["msg"] for e in problem["errors"] if e["type"] == "empty_submission"] == [
        "the submission is empty: no rows, no values and no budget"
    ]


def test_an_empty_item_of_a_batch_is_refused_alone(seed_api: ApiClient) -> None:
    body = {"items": [{"framework": "PRJ-2020"}, {"framework": "PRJ-2020", "values": {}}]}
    r = seed_api.post("/v1/score/batch", json=body)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["ok"] for i in items] == [False, False]
    assert all(
        [e["type"] for e in i["errors"]] == ["empty_submission"]
        and i["errors"][0]["loc"] == ["body", "items", k]
        for k, i in enumerate(items)
    )


# --- property: any accepted submission's points per fixed class equal the class's points -----

CLASSES: dict[str, dict[str, list[str | None]]] = {
    "SELF-EVAL": {
        "OUT": ["OUT.QTY", "OUT.QLT", "OUT.TIM", "OUT.CST", None],
        "BEN": ["BEN.SOC", None],
        "SAT": ["SAT.SVC", None],
    },
    "SELF-EVAL-2021": {
        "OUT": ["OUT.QTY", None],
        "CST": ["CST.ECO", None],
        "BEN": ["BEN.ECO", None],
        "SAT": [None],
    },
}


@st.composite
def submissions(draw: st.DrawFn) -> dict[str, Any]:
    framework = draw(st.sampled_from(sorted(CLASSES)))
    rows: list[dict[str, Any]] = []
    for l1, l2s in CLASSES[framework].items():
        for _ in range(draw(st.integers(0, 3))):
            rows.append(
                row(
                    f"r{len(rows)}",
                    l1,
                    draw(st.sampled_from([0.0, 2.5, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0])),
                    draw(st.sampled_from(l2s)),
                    value=draw(st.sampled_from([50.0, 100.0])),
                    not_applicable=draw(st.booleans()),
                )
            )
    for r in rows:
        if r["not_applicable"]:
            r["value"] = None
    return submission(*rows, framework=framework)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=submissions())
def test_accepted_submissions_give_each_fixed_class_its_points(
    seed: DocumentCatalogue, body: dict[str, Any]
) -> None:
    req = ScoreRequest.model_validate(body)
    fw = seed.framework(req.framework, None).doc
    fixed = {n.code: n.points for n in fw.nodes if n.level == 1 and n.open}
    given_points: dict[str, float] = dict.fromkeys(fixed, 0.0)
    counts: dict[str, int] = dict.fromkeys(fixed, 0)
    for r in req.rows:
        given_points[r.class_l1] += r.points
        counts[r.class_l1] += 1
    fits = all(counts[c] and math.isclose(given_points[c], p) for c, p in fixed.items())
    if not fits:
        with pytest.raises(Unprocessable) as exc:
            receipts.score(req, seed)
        types = {e.type for e in exc.value.errors}
        assert types <= {"points_do_not_add_up", "class_without_rows"}, exc.value.errors
        return
    receipt = receipts.score(req, seed)
    nodes = {n.code: n for n in receipt.nodes}
    for code, points in fixed.items():
        assert nodes[code].points == points
        applicable = math.fsum(
            r.points for r in req.rows if r.class_l1 == code and not r.not_applicable
        )
        assert nodes[code].applicable_points == pytest.approx(applicable)
