"""Forms end to end: file → forms → score requests → the scoring service → scored forms.

The one module of the package that calls the scoring service (imported when called, so that
the reader, the writer and the cell parsers stay free of FastAPI and the database).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from indicator_service.core.i18n import _, localized, validation_message
from indicator_service.forms.convert import FormRequest, to_request
from indicator_service.forms.model import Form, FormProblem
from indicator_service.forms.reader import FormFileError, parse_sheets
from indicator_service.tables.workbook import Sheet, read_sheets

if TYPE_CHECKING:
    from indicator_service.scoring.schemas import Receipt, ScoreRequest

DEFAULT_FRAMEWORK = "SELF-EVAL"


@dataclass
class FormOutcome:
    form: Form
    problems: list[FormProblem] = field(default_factory=list)
    request: ScoreRequest | None = None
    receipt: Receipt | None = None
    converted: FormRequest | None = None

    @property
    def ok(self) -> bool:
        return self.receipt is not None and not self.problems


def _locate(
    loc: Sequence[str | int], conv: FormRequest, form: Form, msg: str, type_: str
) -> FormProblem:
    """A service problem at the form's cell: ``rows.3.points`` → ``自评表!G16``."""
    rest = list(loc)
    while (rest and rest[0] in ("body", "items")) or (rest and isinstance(rest[0], int)):
        rest = rest[2:] if rest[0] == "items" else rest[1:]
        if rest and rest[0] in ("rows", "budget", "framework", "form", "project"):
            break
    key = tuple(rest)
    ref = None
    for n in range(len(key), 1, -1):
        ref = conv.cells.get(key[:n])
        if ref is not None:
            break
    if ref is None and len(key) >= 2 and key[0] == "rows" and isinstance(key[1], int):
        ref = conv.row_cells.get(key[1])
    zh = _ZH.get(type_, "该单元格不能评分")
    return FormProblem(form.sheet, ref, localized(msg, zh + "：" + msg), type_)


_ZH = {
    "not_found": "评价体系不存在",
    "class_points": "同一类指标的分值之和与评价体系不一致",
    "points_total": "分值之和与评价体系不一致",
    "unit_mismatch": "计量单位与指标库不一致",
    "operator_mismatch": "计算符号与指标库的方向不一致",
    "level": "完成程度不适用于该指标",
    "level_score": "得分超出完成程度的分数段",
    "missing": "缺少必填内容",
    "unknown_class": "一级或二级指标不在评价体系中",
    "string_too_long": "内容过长",
    "less_than_equal": "数值超出允许范围",
    "greater_than_equal": "数值超出允许范围",
    "greater_than": "数值超出允许范围",
}


def framework_info(
    catalogue: Any, code: str
) -> tuple[list[dict[str, Any]], dict[str, list[str]] | None, float | None]:
    """Qualitative levels, level synonyms and budget-execution points of a framework."""
    from indicator_service.rules import DEFAULT_QUALITATIVE_LEVELS

    fw = catalogue.framework(code, None)
    doc = fw.doc
    levels = [dict(x) for x in (doc.rule_variants.qualitative_levels or DEFAULT_QUALITATIVE_LEVELS)]
    budget = next(
        (n.points for n in doc.nodes if (n.rule or {}).get("kind") == "budget_execution"), None
    )
    return levels, doc.level_synonyms, budget


def score_forms(raw: bytes, framework: str | None, catalogue: Any) -> list[FormOutcome]:
    """Every form of the file scored (a form with problems does not stop the others).
    Raises :class:`FormFileError` when the file itself is unreadable or holds no form."""
    return score_sheets(read_sheets(raw), framework, catalogue)


def score_sheets(
    sheets: Sequence[Sheet], framework: str | None, catalogue: Any
) -> list[FormOutcome]:
    """:func:`score_forms` for sheets already read."""
    from indicator_service.core.errors import NotFound
    from indicator_service.scoring.batch import score_batch
    from indicator_service.scoring.schemas import ScoreRequest

    forms, problems = parse_sheets(sheets)
    if not forms:
        raise FormFileError(
            _(
                "no self-evaluation form found (an indicator table with the headers 一级指标, "
                "三级指标, 分值)"
            ),
            "no_form",
        )
    code = framework or DEFAULT_FRAMEWORK
    try:
        levels, synonyms, budget_points = framework_info(catalogue, code)
    except NotFound as exc:
        raise FormFileError(
            _("framework {code!r}: {detail}", code=code, detail=exc.detail), "not_found"
        ) from exc
    outcomes: list[FormOutcome] = []
    pending: list[tuple[FormOutcome, FormRequest, ScoreRequest]] = []
    for form, probs in zip(forms, problems, strict=True):
        assert form is not None
        out = FormOutcome(form=form, problems=list(probs))
        outcomes.append(out)
        if out.problems:
            continue
        conv, cprobs = to_request(
            form, code, levels=levels, synonyms=synonyms, budget_points=budget_points
        )
        out.problems.extend(cprobs)
        if conv is None:
            continue
        out.converted = conv
        try:
            req = ScoreRequest.model_validate(conv.request)
        except ValidationError as exc:
            out.problems.extend(
                _locate(list(e["loc"]), conv, form, validation_message(e), e["type"])
                for e in exc.errors()
            )
            continue
        out.request = req
        pending.append((out, conv, req))
    if pending:
        batch = score_batch([req for *_rest, req in pending], catalogue, detail=True)
        for (out, conv, _req), res in zip(pending, batch.items, strict=True):
            if res.ok and res.result is not None:
                out.receipt = res.result
            else:
                out.problems.extend(
                    _locate(list(e.loc), conv, out.form, e.msg, e.type) for e in res.errors
                )
    return outcomes
