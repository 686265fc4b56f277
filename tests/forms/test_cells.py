"""Cells as people write them: operators, units and 万/亿 scaling, full-width digits, Chinese
numerals, targets in words, level words through the framework's synonym table."""

from __future__ import annotations

import pytest

from indicator_service.core.i18n import CHINESE, language
from indicator_service.forms import pipeline
from indicator_service.forms.cells import (
    CellProblem,
    chinese_number,
    level_table,
    parse_actual_number,
    parse_level,
    parse_target,
)
from indicator_service.rules import DEFAULT_QUALITATIVE_LEVELS
from tests.forms import build


@pytest.mark.parametrize(
    ("cell", "op", "value", "unit"),
    [
        ("≥95%", "≥", 95, "%"),
        ("≤90万元", "≤", 90, "万元"),
        ("=100%", "=", 100, "%"),
        ("≧3", "≥", 3, ""),
        ("≦5天", "≤", 5, "天"),
        (">=90", "≥", 90, ""),
        ("<= 90 万元", "≤", 90, "万元"),
        ("＞＝９５％", "≥", 95, "%"),
        ("不低于95%", "≥", 95, "%"),
        ("不少于500人", "≥", 500, "人"),
        ("不高于200元", "≤", 200, "元"),
        ("不超过90万元", "≤", 90, "万元"),
        ("100人以上", "≥", 100, "人"),
        ("5天以内", "≤", 5, "天"),
        ("95", "≥", 95, ""),
        ("９５％", "≥", 95, "%"),
        ("百分之九十五", "≥", 95, "%"),
        ("不少于十五个", "≥", 15, "个"),
        ("≥1,200亩", "≥", 1200, "亩"),
        ("≥1.42万人", "≥", 1.42, "万人"),
    ],
)
def test_targets(cell: str, op: str, value: float, unit: str) -> None:
    t = parse_target(cell)
    assert t is not None
    assert not t.qualitative
    assert t.quantity is not None
    assert (t.operator, t.quantity.value, t.quantity.unit) == (op, value, unit)


@pytest.mark.parametrize("cell", ["按期完成", "逐步缩小", "稳步提高", "3月底前完成", "有效改善"])
def test_targets_in_words_are_qualitative(cell: str) -> None:
    t = parse_target(cell)
    assert t is not None
    assert t.qualitative


@pytest.mark.parametrize(
    ("cell", "unit", "value"),
    [
        ("1.38万人", "万人", 1.38),
        ("13800人", "万人", 1.38),
        ("96%", "%", 96),
        ("96", "%", 96),
        ("９６％", "%", 96),
        ("1.1万亩", "万亩", 1.1),
        ("0.5亿元", "万元", 5000),
        ("二百一十元", "元", 210),
        (210.0, "元", 210),
        ("1,200 元", "元", 1200),
    ],
)
def test_actuals_in_the_targets_unit(cell, unit: str, value: float) -> None:
    assert parse_actual_number(cell, unit) == pytest.approx(value)


def test_actual_in_another_unit_is_refused_in_chinese_and_english() -> None:
    with pytest.raises(CellProblem) as exc:
        parse_actual_number("12公斤", "万人")
    assert "differs" in exc.value.message
    with language(CHINESE):
        assert "不一致" in exc.value.message
    with pytest.raises(CellProblem):
        parse_actual_number("很多", "人")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("十", 10),
        ("十五", 15),
        ("二十", 20),
        ("一百零五", 105),
        ("一万二千", 12000),
        ("三点五", 3.5),
        ("二〇二二", 2022),
        ("两千", 2000),
        ("三五", 35),
        ("abc", None),
    ],
)
def test_chinese_numerals(text: str, value: float | None) -> None:
    assert chinese_number(text) == value


def test_level_words_come_from_the_framework() -> None:
    cat = build.document_catalogue()
    levels, synonyms, budget = pipeline.framework_info(cat, "SELF-EVAL")
    assert budget == 10
    table = level_table(levels, synonyms)
    expected = {
        "达成": "achieved",
        "达成年度指标": "achieved",
        "基本达成": "partial",
        "部分达成": "partial",
        "未达成": "not_achieved",
        "好": "achieved",
        "较好": "achieved",
        "一般": "partial",
        "较差": "not_achieved",
        "差": "not_achieved",
        "partial": "partial",
        "部分达成年度指标并具有一定效果": "partial",
    }
    assert {w: parse_level(w, table) for w in expected} == expected
    # without the framework's table only codes and level names are known
    bare = level_table(DEFAULT_QUALITATIVE_LEVELS, None)
    with pytest.raises(CellProblem):
        parse_level("较好", bare)


def test_synonym_table_is_validated() -> None:
    from pydantic import ValidationError

    from indicator_service.catalogue.source import FrameworkDoc

    cat = build.document_catalogue()
    doc = cat.framework("SELF-EVAL", None).doc.model_dump()
    for bad in (
        {"excellent": ["好"]},
        {"achieved": ["好"], "partial": ["好"]},
        {"achieved": [" "]},
    ):
        with pytest.raises(ValidationError):
            FrameworkDoc.model_validate({**doc, "level_synonyms": bad})


def test_synonyms_do_not_change_other_frameworks_hashes() -> None:
    """A document without a synonym table hashes as before the field existed."""
    from indicator_service.catalogue.versioning import document_content

    cat = build.document_catalogue()
    prj = cat.framework("PRJ-2020", None).doc
    assert "level_synonyms" not in document_content(prj)
    assert "level_synonyms" in document_content(cat.framework("SELF-EVAL", None).doc)


@pytest.mark.parametrize(
    ("target", "actual", "score"),
    [
        ("≥1.42万人", "1.38万人", 19.44),
        ("≥1.42万人", "13800人", 19.44),
        ("≥95%", "96", 20.0),
        ("≥95%", "９０％", 18.95),
        ("不低于95%", "九十", 18.95),
        ("≤90万元", "99万元", 18.0),
        ("逐步缩小", "较好", 20.0),
        ("稳步提高", "一般", 14.0),
    ],
)
def test_cells_scored_in_a_form(target: str, actual: str, score: float) -> None:
    rows = list(build.FARMLAND_ROWS)
    rows[0] = ("产出指标", "数量指标", "受益人数", target, actual, 20, "说明")
    (o,) = pipeline.score_forms(
        build.form_xlsx(build.farmland(rows)), None, build.document_catalogue()
    )
    assert o.ok, [(p.where, p.msg) for p in o.problems]
    assert o.receipt is not None
    leaf = next(lf for lf in o.receipt.leaves if lf.name == "受益人数")
    assert leaf.score == score
