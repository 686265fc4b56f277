"""The labels of a scoring answer, in the request's language, added when the answer is
serialised (docs/scoring.md, "Labels").

Receipts are computed and stored language-neutral: codes, numbers and the explanation in both
languages (``explain``). Every answer that shows a receipt (``POST /v1/score``, the batches,
what-if, the stored evaluations, their replay, re-scoring) passes it through one of these
functions on its way out, so that the shared-structure batch and the item path, a fresh answer
and a replayed one all carry the labels of the current request's language. Each function
returns new containers and never mutates its argument (receipt parts are shared between
receipts through the structure cache).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from indicator_service.core.i18n import localized
from indicator_service.rules.labels import grade_label, label, level_label
from indicator_service.rules.vocabulary import Band
from indicator_service.scoring.schemas import Receipt

#: A framework's names of its grades: band grade (its Chinese name) → English name. An answer
#: that carries a grade without its band (summary, batch item, columnar, stored evaluation) is
#: labelled through it, so that a framework's own band (合格, "pass") is named in English too.
GradeNames = Mapping[str, str]


def grade_names(bands: Iterable[Band]) -> dict[str, str]:
    """The :data:`GradeNames` of a band set."""
    return {b.grade: b.name_en for b in bands}


def _grade(grade: Any, names: GradeNames | None) -> str | None:
    return grade_label(grade, None if names is None or grade is None else names.get(grade))


def _receipt_names(receipt: Any) -> GradeNames | None:
    """The names a full receipt gives its grade (its band's ``name_en``)."""
    band = receipt.get("grade") if isinstance(receipt, Mapping) else None
    if isinstance(band, Mapping) and isinstance(band.get("name_en"), str):
        return {band["grade"]: band["name_en"]}
    return None


def _with(data: Mapping[str, Any], **labels: Any) -> dict[str, Any]:
    """``data`` and the labels that have a value: a label without one (no grade, no level) is
    left out, as the models leave it out (``exclude_if``), so that a dict answer and a model
    answer are the same JSON."""
    return {**data, **{k: v for k, v in labels.items() if v is not None}}


def rule_label_field(rule: Any, lang: str | None = None) -> dict[str, Any]:
    """A receipt leaf's ``rule_label`` (when its rule has a kind) in ``lang``: the label that
    depends on the leaf's structure only (the answered receipt's per-language leaf template
    carries it, ``receipts._static_json``)."""
    kind = rule.get("kind") if isinstance(rule, Mapping) else None
    return {"rule_label": label("rule_kind", kind, lang)} if isinstance(kind, str) else {}


def leaf_value_labels(
    rule: Any, level: str | None, warnings: Sequence[str] | None, lang: str | None = None
) -> dict[str, Any]:
    """A receipt leaf's labels that depend on its values: ``level_label`` (when there is a
    level) and ``warning_labels``, in this order, in ``lang``."""
    out: dict[str, Any] = {}
    if level is not None:
        levels = rule.get("levels") if isinstance(rule, Mapping) else None
        out["level_label"] = level_label(level, levels, lang)
    out["warning_labels"] = [label("warning", w, lang) for w in warnings or ()]
    return out


def leaf_label_fields(
    rule: Any, level: str | None, warnings: Sequence[str] | None
) -> dict[str, Any]:
    """A receipt leaf's labels from its ``rule``, ``level`` and ``warnings``: ``rule_label``
    (:func:`rule_label_field`), then ``level_label`` and ``warning_labels``
    (:func:`leaf_value_labels`)."""
    return {**rule_label_field(rule), **leaf_value_labels(rule, level, warnings)}


def leaf_labels(leaf: Mapping[str, Any]) -> dict[str, Any]:
    """A receipt leaf with its labels (:func:`leaf_label_fields`)."""
    return {**leaf, **leaf_label_fields(leaf.get("rule"), leaf.get("level"), leaf.get("warnings"))}


def receipt_labels(receipt: Mapping[str, Any], *, leaves: bool = True) -> dict[str, Any]:
    """A full receipt (``Receipt`` as JSON data) with its labels: ``grade_label``,
    ``consequence`` (the grade band's recommendation in the language asked),
    ``warning_labels`` (in the order of ``warnings``), ``missing_policy_label`` and each leaf's
    labels (:func:`leaf_labels`; not with ``leaves=False``: leaves that already carry them,
    from ``receipts.receipt_dict(..., answer=True)``)."""
    grade = receipt.get("grade")
    if isinstance(grade, Mapping):
        name = grade_label(grade.get("grade"), grade.get("name_en"))
        zh, en = grade.get("recommendation_zh"), grade.get("recommendation_en")
        consequence = localized(en, zh) if zh and en else (zh or en or None)
    else:
        name = consequence = None
    return _with(
        {**receipt, "leaves": [leaf_labels(lf) for lf in receipt.get("leaves", ())]}
        if leaves
        else receipt,
        grade_label=name,
        consequence=consequence,
        warning_labels=[label("warning", w) for w in receipt.get("warnings") or ()],
        missing_policy_label=label("missing_policy", receipt.get("missing_policy")),
    )


def summary_labels(summary: Mapping[str, Any], names: GradeNames | None = None) -> dict[str, Any]:
    """A summary receipt with ``grade_label`` only (the summary stays small); ``names``: its
    framework's :data:`GradeNames`."""
    return _with(summary, grade_label=_grade(summary.get("grade"), names))


def batch_labels(
    batch: Mapping[str, Any], names: Sequence[GradeNames | None] | None = None
) -> dict[str, Any]:
    """A ``BatchResponse`` (as data) with each item's ``grade_label`` and its receipt's or
    summary's labels: the one place both batch paths (shared structure and item by item) go
    through. ``names``: each item's framework's :data:`GradeNames`, by position (an item with
    its full receipt names its grade from it)."""
    items = []
    for k, item in enumerate(batch.get("items", ())):
        own = _receipt_names(item.get("result"))
        if own is None and names is not None:
            own = names[k]
        out = _with(item, grade_label=_grade(item.get("grade"), own))
        if item.get("result") is not None:
            out["result"] = receipt_labels(item["result"])
        if item.get("summary") is not None:
            out["summary"] = summary_labels(item["summary"], own)
        items.append(out)
    return {**batch, "items": items}


def columnar_labels(scored: Mapping[str, Any], names: GradeNames | None = None) -> dict[str, Any]:
    """A ``ColumnarBatchResponse`` (as data) with ``grade_labels`` beside ``grades``;
    ``names``: the framework's :data:`GradeNames`."""
    labels = [_grade(g, names) for g in scored.get("grades", ())]
    return {**scored, "grade_labels": labels}


def evaluation_labels(
    evaluation: Mapping[str, Any], receipt: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A stored evaluation (``EvaluationOut`` or ``EvaluationSummary`` as data) with
    ``grade_label``, ``kind_label`` and, when it has one, its receipt's labels. The grade is
    named from the stored receipt (``receipt``, or the evaluation's ``result``)."""
    stored = receipt if receipt is not None else evaluation.get("result")
    out = _with(
        evaluation,
        grade_label=_grade(evaluation.get("grade"), _receipt_names(stored)),
        kind_label=label("evaluation_kind", evaluation.get("kind", "self")),
    )
    if isinstance(evaluation.get("result"), Mapping):
        out["result"] = receipt_labels(evaluation["result"])
    return out


def labelled(receipt: Receipt) -> Receipt:
    """A receipt model with its labels in the current language (:func:`receipt_labels`)."""
    return Receipt.model_validate(receipt_labels(receipt.model_dump(mode="json")))
