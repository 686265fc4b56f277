"""The tabular (CSV / XLSX) form of submissions: one line per indicator row, in the layout of a
self-evaluation form, with a ``submission`` column to tell submissions apart; and of their
scores (:data:`OUT_COLUMNS`, :func:`table_lines`). The files themselves are read and written by
:mod:`indicator_service.tables`.

Columns (header names; aliases in brackets): ``submission``, ``framework``, ``version``,
``project``, ``unit_code``, ``region``, ``fiscal_year``, ``class_l1`` [level1, 一级指标],
``class_l2`` [level2, 二级指标], ``name`` [level3, 三级指标], ``id``, ``indicator``, ``points``
[分值], ``operator`` [计算符号], ``target`` [指标值], ``standard_type``, ``unit`` [计量单位],
``value`` [actual, 实际完成值], ``level``, ``level_score``, ``not_applicable``, ``deduction``,
``deduction_reason``, ``budget_adjusted``, ``budget_executed``. Submission-level columns are read
from the submission's first line.
"""

from __future__ import annotations

import csv
import math
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from indicator_service.core.errors import ErrorItem, Unprocessable, excerpt
from indicator_service.core.i18n import _, validation_message
from indicator_service.scoring.schemas import ScoreRequest
from indicator_service.tables.rows import csv_lines, records

__all__ = [
    "OUT_COLUMNS",
    "TableError",
    "csv_lines",
    "lines_to_submissions",
    "normalise_header",
    "read_batch_csv",
    "records_to_submissions",
    "table_lines",
    "table_records",
    "validate_submissions",
    "validated",
]

ALIASES: dict[str, str] = {
    "level1": "class_l1",
    "一级指标": "class_l1",
    "level2": "class_l2",
    "二级指标": "class_l2",
    "level3": "name",
    "三级指标": "name",
    "分值": "points",
    "计算符号": "operator",
    "指标值": "target",
    "计量单位": "unit",
    "actual": "value",
    "实际完成值": "value",
    "偏差原因分析及改进措施": "explanation",
    "偏差原因分析": "explanation",
    "偏差原因": "explanation",
}
SUBMISSION_FIELDS = ("framework", "version", "project", "unit_code", "region", "fiscal_year")
ROW_NUMBERS = ("points", "target", "value", "level_score", "deduction")
NOT_APPLICABLE_SPELLINGS = frozenset({"1", "true", "yes", "y", "不适用", "n/a"})
# Cells of a line that carry the actual (the rest describe the indicator row).
VALUE_TEXT = ("level", "deduction_reason", "explanation")
ROW_TEXT = (
    "id",
    "indicator",
    "class_l1",
    "class_l2",
    "name",
    "operator",
    "standard_type",
    "unit",
    "level",
    "deduction_reason",
    "explanation",
)
KNOWN = {
    "submission",
    *SUBMISSION_FIELDS,
    *ROW_NUMBERS,
    *ROW_TEXT,
    "not_applicable",
    "budget_adjusted",
    "budget_executed",
}


class TableError(Exception):
    def __init__(self, errors: list[ErrorItem]) -> None:
        super().__init__("; ".join(f"{e.loc}: {e.msg}" for e in errors))
        self.errors = errors


def _number(text: str, loc: list[str | int], errors: list[ErrorItem]) -> float | None:
    text = text.strip().rstrip("%")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        errors.append(
            ErrorItem(
                loc=loc, msg=_("not a number: {text}", text=excerpt(text)), type="float_parsing"
            )
        )
        return None
    if not math.isfinite(value):
        errors.append(ErrorItem(loc=loc, msg=_("must be a finite number"), type="finite_number"))
        return None
    return value


_PUBLISHED_TARGET = re.compile(
    r"^\s*(≥|>=|>|=|≤|<=|<)\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S.*?)?\s*$"
)


def _published_target(
    text: str, row: dict[str, Any], loc: list[str | int], errors: list[ErrorItem]
) -> str:
    """指标值 as published forms write it — ``≥95%``, ``≤90万元``, ``=100%``: the operator and
    unit go to their columns when those are empty (and must agree when they are not); the
    number is returned for parsing. Plain numbers pass through unchanged."""
    m = _PUBLISHED_TARGET.match(text)
    if m is None:
        return text
    op, number, unit = m.group(1), m.group(2), m.group(3)
    for field, given, canon in (
        ("operator", op, OPERATOR_SPELLINGS.get),
        ("unit", unit, lambda u: u),
    ):
        if given is None:
            continue
        have = row.get(field)
        if have is None:
            row[field] = given
        elif canon(have) != canon(given):
            errors.append(
                ErrorItem(
                    loc=[*loc, "target"],
                    msg=_(
                        "指标值 {strip} says {given} but the {field} column says {have}",
                        strip=excerpt(text.strip()),
                        given=excerpt(given),
                        field=field,
                        have=excerpt(have),
                    ),
                    type=f"{field}_mismatch",
                )
            )
    return number


OPERATOR_SPELLINGS = {"≥": "≥", ">=": "≥", ">": ">", "=": "=", "≤": "≤", "<=": "≤", "<": "<"}


def normalise_header(header: Iterable[str]) -> list[str]:
    return [ALIASES.get(h.strip(), h.strip()) for h in header]


def _picker(indexes: Sequence[int]) -> Callable[[Sequence[str]], tuple[str, ...]]:
    """``line → tuple of the cells at indexes`` (operator.itemgetter, always a tuple)."""
    if len(indexes) >= 2:
        return operator.itemgetter(*indexes)
    if len(indexes) == 1:
        i = indexes[0]
        return lambda line: (line[i],)
    return lambda line: ()


def _texts(
    line: Sequence[str], fields: Sequence[tuple[str, int]], into: dict[str, Any]
) -> dict[str, Any]:
    """``into`` with the non-blank text cells of ``line`` (``(field, column)`` pairs), stripped."""
    for f, i in fields:
        v = line[i].strip()
        if v:
            into[f] = v
    return into


def records_to_submissions(
    header: list[str],
    records: Iterable[Mapping[str, Any]],
    *,
    default_framework: str | None = None,
    loc_prefix: str = "line",
    first_line: int = 2,
) -> tuple[list[str], list[dict[str, Any]]]:
    """:func:`lines_to_submissions` for records given as ``{column: cell}`` mappings."""
    names = [h for h in dict.fromkeys(header) if h]
    lines = ([("" if (v := rec.get(h)) is None else str(v)) for h in names] for rec in records)
    return lines_to_submissions(
        names,
        lines,
        default_framework=default_framework,
        loc_prefix=loc_prefix,
        first_line=first_line,
    )


def lines_to_submissions(
    header: list[str],
    lines: Iterable[Sequence[str]],
    *,
    default_framework: str | None = None,
    loc_prefix: str = "line",
    first_line: int = 2,
) -> tuple[list[str], list[dict[str, Any]]]:
    """Group table lines (cells in the order of ``header``; blank header names and cells beyond
    the header are ignored, missing trailing cells are empty) into submission dicts, not yet
    validated. Raises :class:`TableError` naming every bad cell as ``[loc_prefix, line,
    column]``."""
    unknown = [h for h in header if h and h not in KNOWN]
    errors: list[ErrorItem] = [
        ErrorItem(loc=["header", h], msg=_("unknown column"), type="unknown_column")
        for h in unknown
    ]
    if "class_l1" not in header or "points" not in header:
        errors.append(
            ErrorItem(
                loc=["header"], msg=_("class_l1 and points columns are required"), type="missing"
            )
        )
    if errors:
        raise TableError(errors)
    width = len(header)
    col = {h: i for i, h in enumerate(header) if h}  # the last of repeated names, as dict(zip)
    named = _picker(sorted(col.values()))
    first_named = min(col.values(), default=0)
    struct_text = [(f, col[f]) for f in ROW_TEXT if f in col and f not in VALUE_TEXT]
    struct_numbers = [(f, col[f]) for f in ("points", "target") if f in col]
    value_text = [(f, col[f]) for f in VALUE_TEXT if f in col]
    value_numbers = [(f, col[f]) for f in ROW_NUMBERS if f in col and f not in ("points", "target")]
    shape_of = _picker([i for _name, i in (*struct_text, *struct_numbers)])
    sub_fields = [(f, col[f]) for f in SUBMISSION_FIELDS if f in col]
    at = col.get
    i_sub, i_na = at("submission"), at("not_applicable")
    i_adj, i_exe = at("budget_adjusted"), at("budget_executed")
    budget_columns = [i for i in (i_adj, i_exe) if i is not None]
    budget_cells = _picker(budget_columns)
    budget_read: dict[str, tuple[str, ...]] = {}  # per submission: the budget cells last read
    subs: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    # A large batch repeats its rows' structure (every submission of a form has the same
    # indicator lines, only the actuals differ): the structural cells of a line are parsed once
    # per distinct spelling and the parsed fields copied (lines with a problem are not kept,
    # so each one reports its own line).
    parsed: dict[tuple[str, ...], dict[str, Any]] = {}
    # the same for number cells (actuals and budgets repeat): text → finite float
    numbers: dict[str, float] = {}

    def number(text: str, n: int, field: str) -> float | None:
        """The cell's number (``None`` for a blank or bad cell; a bad one is reported)."""
        x = numbers.get(text)
        if x is None:
            x = _number(text, [loc_prefix, n, field], errors)
            if x is not None:
                numbers[text] = x
        return x

    for n, line in enumerate(lines, start=first_line):
        if len(line) < width:
            line = [*line, *[""] * (width - len(line))]
        if not line[first_named].strip() and not "".join(named(line)).strip():
            continue  # a blank line (its first cell is looked at first: rarely blank)
        key = (line[i_sub].strip() if i_sub is not None else "") or "1"
        sub = subs.get(key)
        if sub is None:
            sub = {"rows": []}
            for f, i in sub_fields:
                v = line[i].strip()
                if v:
                    if f == "fiscal_year":
                        year = _number(v, [loc_prefix, n, f], errors)
                        sub[f] = int(year) if year is not None and year.is_integer() else v
                    else:
                        sub["unit" if f == "unit_code" else f] = v
            if "framework" not in sub and default_framework:
                sub["framework"] = default_framework
            subs[key] = sub
            order.append(key)
        shape = shape_of(line)
        template = parsed.get(shape)
        if template is None:
            before = len(errors)
            template = _texts(line, struct_text, {})
            for f, i in struct_numbers:
                v = line[i]
                if f == "target" and v.strip():
                    v = _published_target(v, template, [loc_prefix, n], errors)
                if v.strip():
                    template[f] = _number(v, [loc_prefix, n, f], errors)
            if len(errors) == before:
                parsed[shape] = template
        row = _texts(line, value_text, dict(template))
        for f, i in value_numbers:
            cell = line[i]
            if cell.strip():
                x = numbers.get(cell)
                row[f] = x if x is not None else number(cell, n, f)
        if i_na is not None and line[i_na].strip().lower() in NOT_APPLICABLE_SPELLINGS:
            row["not_applicable"] = True
        if "id" not in row:
            row["id"] = f"{loc_prefix}{n}"
        sub["rows"].append(row)
        if budget_columns:
            cells = budget_cells(line)
            if cells != budget_read.get(key):  # each line of a submission repeats its budget
                before = len(errors)
                adjusted = None if i_adj is None else number(line[i_adj], n, "budget_adjusted")
                executed = None if i_exe is None else number(line[i_exe], n, "budget_executed")
                if adjusted is not None or executed is not None:
                    sub["budget"] = {"adjusted": adjusted, "executed": executed}
                if len(errors) == before:  # a bad cell is reported on every line that has it
                    budget_read[key] = cells
    if errors:
        raise TableError(errors)
    return order, [subs[k] for k in order]


def validate_submissions(
    keys: list[str], subs: list[dict[str, Any]]
) -> tuple[list[ScoreRequest | None], list[list[ErrorItem]]]:
    """Pydantic validation per submission (errors are per submission, by its key)."""
    out: list[ScoreRequest | None] = []
    errs: list[list[ErrorItem]] = []
    for key, sub in zip(keys, subs, strict=True):
        try:
            out.append(ScoreRequest.model_validate(sub))
            errs.append([])
        except ValidationError as exc:
            out.append(None)
            errs.append(
                [
                    ErrorItem(
                        loc=["submission", key, *e["loc"]],
                        msg=validation_message(e),
                        type=e["type"],
                    )
                    for e in exc.errors()
                ]
            )
    return out, errs


def validated(keys: list[str], subs: list[dict[str, Any]]) -> list[ScoreRequest | list[ErrorItem]]:
    """Each submission validated, or the problems that stop it."""
    items, errs = validate_submissions(keys, subs)
    return [item if item is not None else err for item, err in zip(items, errs, strict=True)]


def read_batch_csv(raw: bytes) -> tuple[list[str], list[dict[str, Any]]]:
    """A CSV batch body → submission keys and dicts, not yet validated (422 for an unreadable
    body or cells)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unprocessable(
            _("the CSV body is not UTF-8"),
            errors=[ErrorItem(loc=["body"], msg=str(exc), type="encoding")],
        ) from exc
    if "\x00" in text:
        raise Unprocessable(
            _("NUL characters are not allowed"),
            errors=[ErrorItem(loc=["body"], msg=_("NUL character"), type="nul")],
        )
    reader = csv_lines(text)
    try:
        header = normalise_header(next(reader))
        keys, subs = lines_to_submissions(header, reader)
    except StopIteration:
        raise Unprocessable(
            _("empty CSV"),
            errors=[ErrorItem(loc=["body"], msg=_("no header line"), type="missing")],
        ) from None
    except csv.Error as exc:
        raise Unprocessable(
            _("the CSV body is not readable"),
            errors=[
                ErrorItem(loc=["body", getattr(reader, "line_num", 0)], msg=str(exc), type="csv")
            ],
        ) from exc
    except TableError as exc:
        raise Unprocessable(_("the CSV batch has problems"), errors=exc.errors) from exc
    if not subs:
        raise Unprocessable(
            _("empty CSV"), errors=[ErrorItem(loc=["body"], msg=_("no data lines"), type="missing")]
        )
    return keys, subs


def table_records(
    rows: Iterable[Sequence[Any]],
) -> tuple[list[str], list[dict[str, str]]] | None:
    """Header (names normalised, aliases resolved) and records of a form's table rows (read by
    :mod:`indicator_service.tables.rows`, whose ``ReadError`` passes through); ``None`` for a
    table without a header row."""
    it = iter(rows)
    first = next(it, None)
    if first is None:
        return None
    header = normalise_header("" if h is None else str(h) for h in first)
    return header, records(header, it)


# --- scores as a table -------------------------------------------------------------------------

OUT_COLUMNS = (
    "submission",
    "framework",
    "version",
    "id",
    "class_l1",
    "class_l2",
    "name",
    "points",
    "target",
    "value",
    "level",
    "status",
    "score",
    "lost",
    "warnings",
    "total",
    "grade",
    "recommendation",
    "error",
    "explanation",
    "explanation_needed",
    "formula",
)

#: The ``explanation_needed`` cell of a leaf that loses points (or has a warning asking for an
#: explanation) and has no 偏差原因分析及改进措施.
EXPLANATION_NEEDED = "需填写偏差原因分析及改进措施 / explanation needed"


def table_lines(keys: list[str], items: list[Any], results: list[Any]) -> Iterator[dict[str, Any]]:
    """The scored table (columns :data:`OUT_COLUMNS`): one line per leaf of each submission and
    one ``TOTAL`` line, or one ``error`` line per problem of a submission that did not score."""
    for key, item, res in zip(keys, items, results, strict=True):
        if not res.ok or res.result is None:
            for e in res.errors:
                yield {"submission": key, "error": f"{'.'.join(map(str, e.loc))}: {e.msg}"}
            continue
        rec = res.result
        rows = {r.id: r for r in getattr(item, "rows", [])}
        for lf in rec.leaves:
            row = rows.get(lf.id)
            yield {
                "submission": key,
                "framework": rec.framework.code,
                "version": rec.framework.version,
                "id": lf.id,
                "class_l1": row.class_l1 if row else (lf.path[0] if lf.path else ""),
                "class_l2": row.class_l2 if row else "",
                "name": lf.name,
                "points": lf.points,
                "target": lf.target,
                "value": lf.raw_value,
                "level": lf.level,
                "status": lf.status,
                "score": lf.score,
                "lost": lf.lost,
                "warnings": ";".join(lf.warnings),
                "explanation": lf.explanation,
                "explanation_needed": (
                    EXPLANATION_NEEDED if "explanation_missing" in lf.warnings else None
                ),
                "formula": lf.explain.formula.zh if lf.explain and lf.explain.formula else None,
            }
        yield {
            "submission": key,
            "framework": rec.framework.code,
            "version": rec.framework.version,
            "id": "TOTAL",
            "points": rec.applicable_points,
            "score": rec.score_sum,
            "total": rec.total,
            "grade": rec.grade.grade if rec.grade else None,
            "recommendation": rec.grade.recommendation_zh if rec.grade else None,
            "formula": rec.explain.total.zh if rec.explain and rec.explain.total else None,
        }
