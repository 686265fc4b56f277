"""Self-evaluation form lines → submissions: 指标值 as published forms write it."""

from __future__ import annotations

import pytest

from indicator_service.scoring.csvform import TableError, records_to_submissions

HEADER = [
    "一级指标",
    "二级指标",
    "三级指标",
    "分值",
    "计算符号",
    "指标值",
    "计量单位",
    "实际完成值",
]


def _row(op: str, target: str, unit: str) -> dict[str, str]:
    return dict(
        zip(HEADER, ["产出", "数量指标", "完成数量", "50", op, target, unit, "96"], strict=True)
    )


def _rows(*lines: dict[str, str]) -> list[dict[str, object]]:
    from indicator_service.scoring.csvform import normalise_header

    header = normalise_header(HEADER)
    records = [dict(zip(header, line.values(), strict=True)) for line in lines]
    _keys, subs = records_to_submissions(header, records, default_framework="SELF-EVAL")
    return list(subs[0]["rows"])


@pytest.mark.parametrize(
    ("op", "target", "unit", "expected"),
    [
        ("", "≥95%", "", ("≥", 95.0, "%")),
        ("", "≤90万元", "", ("≤", 90.0, "万元")),
        ("", "=100%", "%", ("=", 100.0, "%")),
        (">=", "≥95%", "%", (">=", 95.0, "%")),  # another spelling of the same operator
        ("≥", "95", "%", ("≥", 95.0, "%")),  # the plain form is unchanged
        ("≥", "95%", "%", ("≥", 95.0, "%")),
    ],
)
def test_published_target_notation(op: str, target: str, unit: str, expected: tuple) -> None:
    [row] = _rows(_row(op, target, unit))
    assert (row["operator"], row["target"], row["unit"]) == expected


@pytest.mark.parametrize(
    ("op", "target", "unit", "kind"),
    [("≤", "≥95%", "%", "operator_mismatch"), ("≥", "≥95%", "元", "unit_mismatch")],
)
def test_contradicting_columns_are_named(op: str, target: str, unit: str, kind: str) -> None:
    with pytest.raises(TableError) as info:
        _rows(_row(op, target, unit))
    [err] = info.value.errors
    assert err.loc == ["line", 2, "target"]
    assert err.type == kind


def test_text_that_is_no_target_is_still_refused() -> None:
    with pytest.raises(TableError) as info:
        _rows(_row("≥", "≥about 95", "%"))
    assert info.value.errors[0].type == "float_parsing"
