"""The label vocabulary (rules/labels.py): every code of every vocabulary has a label, every
label its Chinese; Chinese messages that name a code interpolate its label, not the code."""

from __future__ import annotations

import re
from typing import Any, get_args, get_type_hints

import pytest

from indicator_service.auth.models import Role
from indicator_service.catalogue import terms
from indicator_service.catalogue.matching import match_standard
from indicator_service.catalogue.versioning import Bump, Change
from indicator_service.core.i18n import CHINESE, ENGLISH, catalog, language
from indicator_service.rules import labels, vocabulary
from indicator_service.scoring.schemas import EvaluationKind
from indicator_service.standards.resolve import region_level, resolve

#: The code tuples each vocabulary labels (the labels must cover exactly these codes).
CODES: dict[str, Any] = {
    "rule_kind": vocabulary.KINDS,
    "warning": (*vocabulary.WARNING_FLAGS, "explanation_missing"),
    "missing_policy": vocabulary.MISSING_POLICIES,
    "grade": tuple(b.grade for b in vocabulary.DEFAULT_BANDS),
    "efficacy_level": vocabulary.EFFICACY_LEVEL_NAMES,
    "standard_type": terms.STANDARD_TYPES,
    "value_type": terms.VALUE_TYPES,
    "collection_method": terms.COLLECTION_METHODS,
    "sector": terms.SECTORS,
    "project_type": terms.PROJECT_TYPES,
    "evaluation_kind": get_args(EvaluationKind),
    "artefact_kind": ("namespace", "framework"),
    "catalogue_entity": get_args(get_type_hints(Change)["entity"]),
    "bump": get_args(Bump),
    "field": tuple(labels.LABELS["field"]),  # open: a field not listed keeps its name
    "version_status": ("draft", "submitted", "published", "deprecated"),
    "region_level": tuple(region_level(c) for c in ("110105", "110100", "110000", "000000")),
    "role": tuple(r.value for r in Role),
}


def test_every_vocabulary_labels_exactly_its_codes() -> None:
    assert set(labels.LABELS) == set(CODES)
    for vocabulary_, codes in CODES.items():
        assert set(labels.LABELS[vocabulary_]) == set(codes), vocabulary_


@pytest.mark.parametrize("vocabulary_", sorted(CODES))
def test_every_label_has_chinese(vocabulary_: str) -> None:
    zh = catalog(CHINESE)
    for code, text in labels.LABELS[vocabulary_].items():
        assert zh.get(text), f"{vocabulary_} {code}: {text!r} has no Chinese"
        assert labels.label(vocabulary_, code, CHINESE) == zh[text]
        assert labels.label(vocabulary_, code, ENGLISH) == text


def test_standard_types_have_definitions_in_both_languages() -> None:
    assert set(labels.DEFINITIONS["standard_type"]) == set(terms.STANDARD_TYPES)
    assert labels.label("standard_type", "plan", CHINESE) == "计划标准"
    assert labels.label("standard_type", "historical", CHINESE) == "历史标准"
    for t in terms.STANDARD_TYPES:
        zh, en = (labels.definition("standard_type", t, lang) for lang in (CHINESE, ENGLISH))
        assert zh
        assert en
        assert zh != en
        assert not re.search("[A-Za-z]{3,}", zh.replace("GB", "")), zh


def test_grade_names() -> None:
    assert labels.grade_label("优", "excellent", ENGLISH) == "Excellent"
    assert labels.grade_label("差", "poor", CHINESE) == "差"
    assert labels.grade_label("A", "top band", ENGLISH) == "top band"  # a framework's own name
    assert labels.grade_label("优", "outstanding", ENGLISH) == "outstanding"
    assert labels.grade_label(None) is None


def test_unknown_codes_keep_the_code() -> None:
    assert labels.label("warning", "a_newer_warning", CHINESE) == "a_newer_warning"
    assert labels.level_label("achieved", None, CHINESE) == "achieved"
    levels = [dict(lv) for lv in vocabulary.DEFAULT_QUALITATIVE_LEVELS]
    assert labels.level_label("achieved", levels, CHINESE) == "达成年度指标"
    assert labels.level_label("achieved", levels, ENGLISH) == "annual target achieved"


# --- no code words inside Chinese messages ------------------------------------------------------

#: A word of Latin letters that is no code of the kind users may see in Chinese text: codes are
#: upper case or carry digits (EDU-02-001, 110105), units are short (km, m², kg).
CODE_WORD = re.compile(r"(?<![A-Za-z0-9_-])[a-z][a-z_]{2,}(?![A-Za-z0-9_-])")
ALLOWED = {"include_illustrative", "true"}  # a query parameter the sentence tells the user to set


def code_words(text: str) -> set[str]:
    """The code words of ``text``, quoted codes aside (``'nope'``: the code the client sent)."""
    return set(CODE_WORD.findall(re.sub(r"'[^']*'", "", text))) - ALLOWED


def _row(id_: int, type_: str, region: str, **extra: Any) -> dict[str, Any]:
    return {"id": id_, "type": type_, "region": region, "value": 1.0, **extra}


def _resolutions() -> list[Any]:
    """Resolutions covering every sentence of the explanation."""
    rows = {
        ("plan", "000000"): _row(1, "plan", "000000"),
        ("industry", "110105"): _row(2, "industry", "110105"),
        ("historical", "000000"): {**_row(3, "historical", "000000"), "fiscal_year": 2022},
    }

    def lookup(t: str, r: str) -> Any:
        return rows.get((t, r))

    return [
        resolve(lookup, region="110105"),
        resolve(lookup, region="110105", order="region_first"),
        resolve(lookup, region="110105", precedence=["historical", "plan"], fiscal_year=2024),
        resolve(lookup, region="110105", precedence=["professional"]),
        resolve(lookup, region="110105", precedence=["professional"], fallback=False),
        resolve(lookup, region="110000", precedence=["plan"], fiscal_year=2024),
    ]


def test_resolution_explanations_in_chinese_name_no_codes() -> None:
    with language(CHINESE):
        resolutions = _resolutions()
    texts = [r.explanation for r in resolutions]
    texts += [c.reason for r in resolutions for c in r.candidates]
    assert any("计划标准" in t for t in texts)
    assert any("县级" in t or "省级" in t or "全国" in t for t in texts)
    for text in texts:
        assert not code_words(text), text
    with language(ENGLISH):
        english = _resolutions()
    assert "plan standard of region 000000 (National) used" in english[0].explanation


def test_standard_matching_reasons_in_chinese_name_no_codes() -> None:
    from datetime import date
    from types import SimpleNamespace

    def row(**kw: Any) -> Any:
        base = {
            "type": "historical", "region": "110000", "fiscal_year": 2022, "sector": None,
            "project_type": None, "valid_from": date(2021, 1, 1), "valid_to": None,
            "derivation": None, "source": None, "illustrative": False,
        }  # fmt: skip
        return SimpleNamespace(**{**base, **kw})

    rows = [row(), row(type="plan", fiscal_year=None, illustrative=True)]
    with language(CHINESE):
        m = match_standard(
            rows,
            type=None,
            region="110105",
            fiscal_year=2024,
            sector="education",
            project_type="training",
            include_illustrative=False,
        )
    assert m is not None
    assert any("历史标准" in w for w in m.why)
    assert any("教育" in w for w in m.why)
    assert any("培训类" in w for w in m.why)
    for why in m.why:
        assert not code_words(why), why


def test_artefact_messages_name_the_kind_in_chinese(api: Any) -> None:
    for path in ("/v1/frameworks/NOPE", "/v1/namespaces/nope"):
        body = api.get(path, headers={"accept-language": "zh-CN"}).json()
        assert body["status"] == 404
        assert "评价指标体系" in body["detail"] or "指标库" in body["detail"], body["detail"]
        assert not code_words(body["detail"]), body["detail"]
        en = api.get(path, headers={"accept-language": "en"}).json()
        assert "framework" in en["detail"] or "namespace" in en["detail"]


# --- version diffs ------------------------------------------------------------------------------


def _diff() -> Any:
    from indicator_service.catalogue.versioning import Change, Diff, FieldChange

    return Diff(
        "framework",
        "PRJ-2020",
        "1.0.0",
        "1.1.0",
        (
            Change(
                "node", "DEC", "changed", "major", "re-weighting",
                (FieldChange("points", 15, 20),),
            ),
            Change("node", "NEW", "added", "minor", "node added"),
            Change("node", "OLD", "removed", "major", "node removed"),
            Change(
                "node", "X", "changed", "patch", "text-only change (name_en)",
                (FieldChange("name_en", "a", "b"),),
            ),
        ),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        (CHINESE, ["调整分值", "新增节点", "删除节点", "仅文字修改（英文名称）"]),
        (
            ENGLISH,
            ["re-weighting", "node added", "node removed", "text-only change (English name)"],
        ),
    ],
)
def test_diff_entries_say_why_in_the_language_asked(lang: str, words: list[str]) -> None:
    from indicator_service.catalogue.schemas import DiffOut

    with language(lang):
        out = DiffOut.model_validate(_diff().as_dict()).model_dump(mode="json")
    assert [c["reason_label"] for c in out["changes"]] == words
    assert out["changes"][0]["reason"] == "re-weighting"  # the machine field stays
    assert out["changes"][0]["entity_label"] == ("节点" if lang == CHINESE else "node")
    assert out["changes"][3]["reason"] == "text-only change (name_en)"  # fields by name


def test_a_too_small_bump_is_refused_in_the_language_asked() -> None:
    from indicator_service.catalogue.versioning import BumpTooSmall

    with language(CHINESE):
        zh = str(BumpTooSmall("1.0.0", "1.1.0", "minor", _diff()))
    assert "主版本号" in zh
    assert "节点 DEC：调整分值" in zh
    assert "2.0.0" in zh
    assert not code_words(zh), zh
    with language(ENGLISH):
        en = str(BumpTooSmall("1.0.0", "1.1.0", "minor", _diff()))
    assert en.startswith(
        "version 1.1.0 is a minor bump over 1.0.0, but the changes require a major"
    )
    assert "node DEC: re-weighting" in en
    assert en.endswith("publish as 2.0.0")


# --- rectification statuses ---------------------------------------------------------------------


def test_a_step_backwards_names_the_statuses_in_words() -> None:
    from indicator_service.rectification.deadlines import ORDER, STATUSES
    from indicator_service.rectification.service import not_forward

    backwards = [(c, r) for c in ORDER for r in ORDER if ORDER[r] <= ORDER[c]]
    assert len(backwards) == 10  # every status to itself or to an earlier one
    for current, requested in backwards:
        with language(CHINESE):
            zh = not_forward(current, requested)
        texts = [zh.detail, *(e.msg for e in zh.errors)]
        assert STATUSES[current][0] in zh.detail
        assert STATUSES[requested][0] in zh.detail
        for text in texts:
            assert not code_words(text), text
        with language(ENGLISH):
            en = not_forward(current, requested)
        assert STATUSES[current][1] in en.detail
        assert STATUSES[requested][1] in en.detail
        assert [e.type for e in en.errors] == [e.type for e in zh.errors] == ["invalid_transition"]
