"""Self-evaluation form lines → submissions: 指标值 as published forms write it."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indicator_service.scoring.csvform import TableError, csv_lines, records_to_submissions

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


def _lines(text: str) -> tuple[list[str], list[dict[str, Any]]]:
    import csv
    import io

    from indicator_service.scoring.csvform import lines_to_submissions, normalise_header

    reader = csv.reader(io.StringIO(text))
    return lines_to_submissions(normalise_header(next(reader)), reader)


def test_repeated_structure_is_parsed_once_but_each_line_keeps_its_values() -> None:
    """Lines of the same indicator in many submissions share their parsed structure; values,
    n/a flags and default ids stay per line, and no row shares a dict with another."""
    keys, subs = _lines(
        "submission,class_l1,points,operator,target,unit,value,not_applicable\n"
        "a,产出,50,,≥95%,,96,\n"
        "b,产出,50,,≥95%,,97,\n"
        "c,产出,50,,≥95%,,,是\n"
        "c,产出,50,,≥95%,,,不适用\n"
    )
    assert keys == ["a", "b", "c"]
    rows = [r for s in subs for r in s["rows"]]
    assert [r.get("value") for r in rows] == [96.0, 97.0, None, None]
    assert [r["id"] for r in rows] == ["line2", "line3", "line4", "line5"]
    assert [r.get("not_applicable") for r in rows] == [None, None, None, True]
    assert all(r["operator"] == "≥" and r["target"] == 95.0 and r["unit"] == "%" for r in rows)
    rows[0]["target"] = 0.0
    assert rows[1]["target"] == 95.0


def test_every_line_of_a_repeated_bad_cell_is_named() -> None:
    """A structure that fails to parse is not reused: each line reports its own problem."""
    with pytest.raises(TableError) as info:
        _lines(
            "submission,class_l1,points,target,value,budget_adjusted\n"
            "a,产出,50,lots,96,\n"
            "b,产出,50,lots,97,x\n"
        )
    assert [e.loc for e in info.value.errors] == [
        ["line", 2, "target"],
        ["line", 3, "target"],
        ["line", 3, "budget_adjusted"],
    ]


def test_short_lines_unnamed_and_extra_cells() -> None:
    """Missing trailing cells are empty; cells under a blank header name or beyond the header
    are ignored (and do not make a blank line count)."""
    keys, subs = _lines("class_l1,points,,value\n产出,50\n,,stray,,beyond\n产出,50,x,96,y\n")
    assert keys == ["1"]
    assert [r.get("value") for r in subs[0]["rows"]] == [None, 96.0]


def test_budget_cells_are_read_per_line_as_before() -> None:
    """Each line of a submission repeats its budget: read once while it repeats, a change is
    read (the last line's budget wins), and a bad cell is named on every line that has it."""
    _keys, subs = _lines(
        "submission,class_l1,points,value,budget_adjusted,budget_executed\n"
        "a,产出,50,96,100,90\n"
        "a,产出,50,97,100,90\n"
        "a,产出,50,98,100,95\n"
        "b,产出,50,96,100,90\n"
        "b,产出,50,96,,\n"
    )
    assert [s["budget"] for s in subs] == [
        {"adjusted": 100.0, "executed": 95.0},
        {"adjusted": 100.0, "executed": 90.0},  # blank cells do not clear it
    ]
    with pytest.raises(TableError) as info:
        _lines("submission,class_l1,points,value,budget_adjusted\na,产出,50,96,x\na,产出,50,97,x\n")
    assert [e.loc for e in info.value.errors] == [
        ["line", 2, "budget_adjusted"],
        ["line", 3, "budget_adjusted"],
    ]


def test_a_line_is_blank_only_if_every_named_cell_is() -> None:
    keys, subs = _lines("submission,class_l1,points,value\n , , ,\n ,产出,50,96\n")
    assert keys == ["1"]
    assert [r["value"] for r in subs[0]["rows"]] == [96.0]


CSV_ALPHABET = st.sampled_from(
    [
        "a",
        "1",
        ",",
        ",",
        '"',
        "\r",
        "\n",
        "\r\n",
        " ",
        "产",
        "\x0b",
        "\x0c",
        "\x1c",
        "\x85",
        "\u2028",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(CSV_ALPHABET, max_size=40).map("".join))
def test_csv_lines_reads_as_the_csv_module(text: str) -> None:
    """As ``csv.reader`` in strict mode: an unterminated quote or a character after a closing
    quote is an error (the lenient reader would silently accept them)."""
    try:
        expected = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error:
        with pytest.raises(csv.Error):
            list(csv_lines(text))
        return
    assert list(csv_lines(text)) == expected


@pytest.mark.parametrize("text", ['a\n"unterminated', 'a,b\n"x"y,z\n'])
def test_csv_lines_refuses_broken_quoting(text: str) -> None:
    with pytest.raises(csv.Error):
        list(csv_lines(text))


@pytest.mark.parametrize("text", ["a,b\nccc,d\n", "a,b\r\nccc\rd"])
def test_csv_lines_keeps_the_field_limit(text: str) -> None:
    old = csv.field_size_limit(2)
    try:
        with pytest.raises(csv.Error):
            list(csv.reader(io.StringIO(text, newline="")))
        with pytest.raises(csv.Error):
            list(csv_lines(text))
    finally:
        csv.field_size_limit(old)
