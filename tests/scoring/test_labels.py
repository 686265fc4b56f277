"""Labels beside the codes of a scoring answer, in the language of Accept-Language (#16): the
codes stay, the labels follow the request; stored receipts stay language-neutral and a stored
evaluation or an Idempotency-Key replay answers in the language of the current request."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bench.bench_http import as_columnar
from bench.bench_http import submission as bench_submission
from indicator_service.app import create_app
from indicator_service.auth.models import Role
from indicator_service.core.database import session_scope
from indicator_service.core.i18n import language
from indicator_service.scoring.evaluations import evaluation_summary
from indicator_service.scoring.labels import evaluation_labels
from indicator_service.scoring.lookup import DocumentCatalogue
from indicator_service.scoring.models import Evaluation
from tests.auth.fixtures import authenticate, issue_key
from tests.helpers import ApiClient, kept_answers, make_settings, use_documents
from tests.scoring.frameworks import COMMON, WORKED_EXAMPLE, fixed_department, self_evaluation
from tests.scoring.test_evaluations import published, submission, v1_rows

__all__ = ["published"]  # the fixture, shared with test_evaluations

ZH = {"accept-language": "zh-CN"}
EN = {"accept-language": "en"}
LABEL_FIELDS = {"grade_label", "consequence", "warning_labels", "missing_policy_label"}
LEAF_LABEL_FIELDS = {"rule_label", "level_label", "warning_labels"}

#: What the worked example's receipt says, by language.
WORDS: dict[str, dict[str, str | None]] = {
    "zh-CN": {
        "grade": "优",
        "consequence": "根据情况予以支持",
        "missing": "缺失值计 0 分",
        "explanation_missing": "未填写偏差原因分析及改进措施",
        "higher_better": "越高越好",
        "budget_execution": "预算执行率",
        "achieved": "达成年度指标",
        "kind": "单位自评",
    },
    "en": {
        "grade": "Excellent",
        "consequence": None,  # read off the band's recommendation_en below
        "missing": "Missing values score 0",
        "explanation_missing": "Explanation of the deviation missing",
        "higher_better": "Higher is better",
        "budget_execution": "Budget execution rate",
        "achieved": "annual target achieved",
        "kind": "unit self-evaluation",
    },
}


def assert_receipt_in(receipt: dict[str, Any], lang: str) -> None:
    """The worked example's receipt, labelled in ``lang``; its codes unchanged."""
    words = WORDS[lang]
    assert receipt["grade"]["grade"] == "优"
    assert receipt["warnings"] == ["explanation_missing"]
    assert receipt["grade_label"] == words["grade"]
    want = receipt["grade"]["recommendation_zh" if lang == "zh-CN" else "recommendation_en"]
    assert want
    assert receipt["consequence"] == want
    assert receipt["warning_labels"] == [words["explanation_missing"]]
    assert receipt["missing_policy_label"] == words["missing"]
    leaves = {lf["id"]: lf for lf in receipt["leaves"]}
    assert leaves["qty"]["rule"]["kind"] == "higher_better"
    assert leaves["qty"]["rule_label"] == words["higher_better"]
    assert leaves["qty"]["warning_labels"] == [words["explanation_missing"]]
    assert leaves["quality"]["warning_labels"] == []
    assert leaves["EXEC"]["rule_label"] == words["budget_execution"]
    assert leaves["social"]["level"] == "achieved"
    assert leaves["social"]["level_label"] == words["achieved"]
    assert "level_label" not in leaves["qty"]  # no level, no label
    for lf in receipt["leaves"]:
        assert len(lf["warning_labels"]) == len(lf["warnings"])


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_receipt_labels_in_the_language_asked(sapi: ApiClient, lang: str) -> None:
    r = sapi.post("/v1/score", json=WORKED_EXAMPLE, headers={"accept-language": lang})
    assert r.status_code == 200, r.text
    assert_receipt_in(r.json(), lang)


def test_machine_clients_get_english_labels(sapi: ApiClient) -> None:
    assert_receipt_in(sapi.post("/v1/score", json=WORKED_EXAMPLE).json(), "en")


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_batch_and_what_if_receipts_are_labelled(sapi: ApiClient, lang: str) -> None:
    headers = {"accept-language": lang}
    other = {**WORKED_EXAMPLE, "rows": [*WORKED_EXAMPLE["rows"]], "project": "other"}
    body = {"items": [WORKED_EXAMPLE, other]}
    detail = sapi.post("/v1/score/batch?detail=true", json=body, headers=headers).json()
    for item in detail["items"]:
        assert item["grade_label"] == WORDS[lang]["grade"]
        assert_receipt_in(item["result"], lang)
    what_if = sapi.post(
        "/v1/score/what-if",
        json={"submission": WORKED_EXAMPLE, "overrides": {"targets": {"econ": 80}}},
        headers=headers,
    ).json()
    assert_receipt_in(what_if["official"], lang)
    assert what_if["what_if"]["grade_label"] == WORDS[lang]["grade"]


def test_a_frameworks_own_band_names_win(sapi: ApiClient) -> None:
    bands = [
        {"grade": "A", "name_en": "top", "min": 95, "max": 100},
        {"grade": "B", "name_en": "rest", "min": 0, "max": 95},
    ]
    body = {"submission": WORKED_EXAMPLE, "overrides": {"bands": bands}}
    en = sapi.post("/v1/score/what-if", json=body, headers=EN).json()["what_if"]
    zh = sapi.post("/v1/score/what-if", json=body, headers=ZH).json()["what_if"]
    assert (en["grade"]["grade"], en["grade_label"], zh["grade_label"]) == ("B", "rest", "B")
    assert "consequence" not in en  # the caller's bands say nothing of the budget


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_columnar_grades_are_labelled(sapi: ApiClient, lang: str) -> None:
    body = as_columnar([bench_submission(k) for k in range(8)])
    r = sapi.post("/v1/score/columnar", json=body, headers={"accept-language": lang})
    assert r.status_code == 200, r.text
    out = r.json()
    names = dict(zip("优良中差", ("Excellent", "Good", "Fair", "Poor"), strict=True))
    assert out["grades"]
    want = [g if lang == "zh-CN" else names[g] for g in out["grades"]]
    assert out["grade_labels"] == want


def _stored_result(engine: Engine, evaluation_id: int) -> Any:
    with session_scope(engine) as s:
        ev = s.exec(select(Evaluation).where(Evaluation.id == evaluation_id)).one()
        return copy.deepcopy(ev.result)


def _labels_in(receipt: dict[str, Any]) -> set[str]:
    """The label fields of a receipt and of its leaves."""
    found = set(receipt) & LABEL_FIELDS
    return found.union(*(set(lf) & LEAF_LABEL_FIELDS for lf in receipt["leaves"]))


@pytest.mark.parametrize(("first", "then"), [("zh-CN", "en"), ("en", "zh-CN")])
def test_stored_evaluations_and_replays_answer_in_the_current_language(
    eapi: ApiClient, engine: Engine, published: None, first: str, then: str
) -> None:
    project = f"P-{uuid.uuid4().hex[:8]}"
    body = v1_rows(submission(project))
    key = {"Idempotency-Key": f"labels-{project}"}
    names = {
        "zh-CN": ("优", "单位自评", "预算执行率"),
        "en": ("Excellent", "unit self-evaluation", "Budget execution rate"),
    }

    def check(answer: dict[str, Any], lang: str) -> None:
        grade, kind, rule = names[lang]
        assert (answer["grade"], answer["grade_label"]) == ("优", grade)
        assert (answer["kind"], answer["kind_label"]) == ("self", kind)
        assert answer["result"]["grade_label"] == grade
        assert answer["result"]["leaves"][0]["rule_label"] == rule

    created = eapi.post("/v1/evaluations", json=body, headers={**key, "accept-language": first})
    assert created.status_code == 201, created.text
    check(created.json(), first)
    replay = eapi.post("/v1/evaluations", json=body, headers={**key, "accept-language": then})
    assert replay.status_code == 201
    check(replay.json(), then)
    assert replay.json()["id"] == created.json()["id"]
    ev_id = created.json()["id"]
    check(eapi.get(f"/v1/evaluations/{ev_id}", headers={"accept-language": then}).json(), then)
    check(eapi.get(f"/v1/evaluations/{ev_id}", headers={"accept-language": first}).json(), first)
    listed = eapi.get(
        "/v1/evaluations", params={"project": project}, headers={"accept-language": then}
    ).json()
    assert listed["items"][0]["grade_label"] == names[then][0]
    assert listed["items"][0]["kind_label"] == names[then][1]
    # what is stored carries no words of either language: the evaluation's receipt, and the
    # one answer kept for the key
    assert _labels_in(_stored_result(engine, ev_id)) == set()
    (kept,) = kept_answers(engine, "scoring.evaluations", key["Idempotency-Key"])
    assert not {"grade_label", "kind_label"} & set(kept)
    assert _labels_in(kept["result"]) == set()
    rescored = eapi.post(
        f"/v1/evaluations/{ev_id}/rescore",
        json={"version": "1.0.0"},
        headers={"accept-language": then},
    ).json()
    assert (
        rescored["original"]["grade_label"] == rescored["rescored"]["grade_label"] == names[then][0]
    )


@pytest.mark.parametrize(
    ("lang", "precedence_words", "single_words"),
    [
        ("zh-CN", "计划标准、行业标准、专业标准或历史标准", "计划标准"),
        ("en", "plan standard, industry standard, professional standard or historical standard",
         "plan standard"),
    ],
)  # fmt: skip
def test_a_missing_standard_is_named_in_the_language_asked(
    eapi: ApiClient, published: None, lang: str, precedence_words: str, single_words: str
) -> None:
    # a row that asks for a standard none gives: the problem names the standard type(s) in
    # words of the request's language (it said "没有plan" in Chinese)
    body = submission("P-NO-STANDARD", version=None)
    body["rows"][0].update(target=None, standard_type="plan")
    body["rows"][1].update(target=None, standard_type="auto")
    r = eapi.post("/v1/score", json=body, headers={"accept-language": lang})
    assert r.status_code == 422, r.text
    msgs = {tuple(e["loc"][-3:]): e["msg"] for e in r.json()["errors"]}
    single = msgs[("rows", 0, "standard_type")]
    several = msgs[("rows", 1, "standard_type")]
    assert single_words in single
    assert "plan," not in single
    assert precedence_words in several
    if lang == "zh-CN":
        assert "plan" not in single
        assert "plan" not in several


#: A framework whose bands are its own: 合格 (pass) and 不合格 (fail), not 优/良/中/差.
PASS_FAIL = [
    {"grade": "合格", "name_en": "pass", "min": 60, "max": 100},
    {"grade": "不合格", "name_en": "fail", "min": 0, "max": 60},
]


@pytest.fixture(scope="module")
def banded(database_url: str) -> Iterator[ApiClient]:
    """A client of an app whose catalogue has SELF-EVAL with the pass/fail bands."""
    app = create_app(make_settings(database_url))
    use_documents(
        app, DocumentCatalogue([self_evaluation(bands=PASS_FAIL), fixed_department()], [COMMON])
    )
    key = issue_key(app.state.engine, app.state.settings, Role.client, name="banded client")
    client = authenticate(ApiClient(app), key)
    yield client
    client.close()


@pytest.mark.parametrize(("lang", "name"), [("zh-CN", "合格"), ("en", "pass")])
def test_a_frameworks_own_band_names_in_every_scoring_answer(
    banded: ApiClient, lang: str, name: str
) -> None:
    """Summary, batch (one structure and item by item, with and without receipts), columnar:
    the grade's name is the framework's band name in the language asked (an English answer
    said 合格), as the full receipt says it."""
    headers = {"accept-language": lang}
    names = {"合格": name, "不合格": "fail" if lang == "en" else "不合格"}
    full = banded.post("/v1/score", json=WORKED_EXAMPLE, headers=headers).json()
    assert (full["grade"]["grade"], full["grade_label"]) == ("合格", name)
    summary = banded.post("/v1/score?receipt=summary", json=WORKED_EXAMPLE, headers=headers)
    assert summary.status_code == 200, summary.text
    assert (summary.json()["grade"], summary.json()["grade_label"]) == ("合格", name)
    same = [bench_submission(k) for k in range(3)]
    mixed = [WORKED_EXAMPLE, {**WORKED_EXAMPLE, "rows": WORKED_EXAMPLE["rows"][:-1]}]
    for items, query in [
        (same, ""),  # one structure: scored as one columnar batch
        (same, "?receipt=summary"),
        (mixed, ""),  # item by item
        (mixed, "?receipt=summary"),
        (mixed, "?detail=true"),
    ]:
        r = banded.post(f"/v1/score/batch{query}", json={"items": items}, headers=headers)
        assert r.status_code == 200, r.text
        graded = [it for it in r.json()["items"] if it["grade"] is not None]
        assert graded, (query, r.json())
        for item in graded:
            assert item["grade_label"] == names[item["grade"]], (query, item)
            for part in ("summary", "result"):
                if item.get(part):
                    assert item[part]["grade_label"] == item["grade_label"], (query, part)
    r = banded.post("/v1/score/columnar", json=as_columnar(same), headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["grade_labels"] == [names[g] for g in r.json()["grades"]]
    assert set(r.json()["grades"]) <= set(names)


def test_a_stored_evaluation_names_its_frameworks_own_band() -> None:
    """A stored evaluation and its summary in a list take the band's name from the stored
    receipt (the grade alone cannot say it)."""
    receipt = {"grade": {"grade": "合格", "name_en": "pass"}, "leaves": []}
    ev = Evaluation(
        id=1,
        kind="self",
        framework_code="SELF-EVAL",
        framework_version="1.0.0",
        project="P",
        region="330000",
        total=94.2,
        grade="合格",
        input_hash="0" * 64,
        request={},
        result=receipt,
    )
    with language("en"):
        assert evaluation_summary(ev).grade_label == "pass"
        assert evaluation_labels({"grade": "合格", "result": receipt})["grade_label"] == "pass"
    with language("zh-CN"):
        assert evaluation_summary(ev).grade_label == "合格"
