"""Scoring one submission and its receipt: the input hash, the canonical JSON, the receipt
with every leaf, node, total, grade and the versions used (:func:`score`, :func:`score_json`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import orjson

from indicator_service import rules
from indicator_service.catalogue.source import Citation
from indicator_service.core.errors import ErrorItem, Unprocessable
from indicator_service.core.i18n import _, current_language
from indicator_service.scoring import explain
from indicator_service.scoring.labels import (
    grade_names,
    leaf_value_labels,
    receipt_labels,
    rule_label_field,
    summary_labels,
)
from indicator_service.scoring.lookup import (
    CatalogueLookup,
    ResolvedFramework,
)
from indicator_service.scoring.prepare import (
    Prepared,
    StaticLeaf,
    compile_prepared,
    error_item,
    prepare,
)
from indicator_service.scoring.schemas import (
    BudgetIn,
    Receipt,
    ScoreRequest,
)

# --- scoring and receipts -------------------------------------------------------------------------


def _hashed_request(req: ScoreRequest) -> dict[str, Any]:
    """The request as hashed: fields added after the first release (``values.*.target``) are
    left out while unset, so that earlier requests keep the hash they were stored with."""
    data = req.model_dump(mode="json", exclude={"version"})
    for value in data.get("values", {}).values():
        if value.get("target") is None:
            value.pop("target", None)
    for item in (*data.get("rows", ()), *data.get("values", {}).values()):
        if item.get("explanation") is None:
            item.pop("explanation", None)
    if data.get("form") is None:
        data.pop("form", None)
    return data


def input_hash(req: ScoreRequest, fw: ResolvedFramework) -> str:
    payload = {
        "request": _hashed_request(req),
        "framework": [fw.code, fw.version],
        "namespaces": fw.namespaces,
    }
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def hashed_template(template: ScoreRequest) -> dict[str, Any]:
    """The hashed form of a submission template whose rows carry no values (the shared-structure
    batch): :func:`template_input_hash` puts each submission's values, project and budget in."""
    return _hashed_request(template)


def template_input_hash(
    hashed: dict[str, Any],
    fw: ResolvedFramework,
    values: Sequence[float | None],
    project: str | None,
    budget: BudgetIn | None,
) -> str:
    """:func:`input_hash` of the template ``hashed`` (:func:`hashed_template`) with the rows'
    numeric ``values``, ``project`` and ``budget`` of one submission: the hash of that
    submission validated on its own, without validating it."""
    request = {
        **hashed,
        "rows": [{**row, "value": v} for row, v in zip(hashed["rows"], values, strict=True)],
        "project": project,
        "budget": None if budget is None else budget.model_dump(mode="json"),
    }
    payload = {
        "request": request,
        "framework": [fw.code, fw.version],
        "namespaces": fw.namespaces,
    }
    return hashlib.sha256(canonical_json(payload)).hexdigest()


# Where orjson's text differs from ``json.dumps``: numbers below 1e-4 only, written either
# 0.0000… (orjson 0.00001, json 1e-05) or with a negative exponent (orjson -1e-7, json -1e-07);
# large numbers are written alike (1e+16 by both; 4 million random doubles of every magnitude
# compared, orjson 3.13); and \u escapes. Strings containing these patterns merely take the slow
# path (tests/scoring/test_fast_path.py holds the numbers to ``json.dumps``).


def canonical_json(payload: Any) -> bytes:
    """``json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` as
    UTF-8, byte for byte (the input hash depends on it), computed with orjson when its output
    is known to be identical and with ``json`` otherwise."""
    try:
        out = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # e.g. integers beyond 64 bits
        out = None
    if (
        out is None
        or (b"\\" in out and b"\\u" in out)  # one byte first (memchr): a backslash is rare
        or b"0.0000" in out
        or b"e-" in out
    ):
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return text.encode("utf-8")
    return out


def leaf_errors(p: Prepared, result: rules.BatchResult, offset: int = 0) -> list[ErrorItem]:
    out: list[ErrorItem] = []
    codes = result.leaf_error[offset : offset + len(p.meta)]
    if not codes.any():
        return out
    for m, code in zip(p.meta, codes.tolist(), strict=True):
        if code:
            type_, msg = rules.ERROR_CODES[code]
            field_ = {3: "level_score", 2: "level"}.get(code, "value")
            rel = list(m.loc) if m.loc[-1:] == ("budget",) else [*m.loc, field_]
            loc = [*p.loc0, *rel]
            out.append(ErrorItem(loc=loc, msg=msg, type=type_))
    return out


#: A leaf without an explanation (偏差原因分析及改进措施) carries ``explanation_missing`` when it
#: loses points (a target not reached must be explained with its cause and the corrective
#: measure) or has one of these warnings (over-achievement, execution below the threshold:
#: docs/scoring.md, rules 6 and 8).
EXPLAINED_WARNINGS = frozenset({"over_achievement", "execution_below_threshold"})
EXPLANATION_MISSING = "explanation_missing"


def _static_parts(
    p: Prepared, compiled: rules.CompiledTree
) -> tuple[list[StaticLeaf], list[dict[str, Any]]]:
    """The receipt's value-independent leaf and node fields, cached on the submission's
    structure."""
    st = p.structure
    if st is not None and st.static is not None and st.compiled is compiled:
        return st.static
    req = p.request
    leaves = [
        StaticLeaf(
            head={
                "id": leaf.code,
                "indicator": m.indicator,
                "name": m.name,
                "path": list(leaf.path),
                "unit": m.unit,
            },
            mid={
                "target_source": m.target_source.model_dump(mode="json"),
                "rule": _jsonable(compiled.rules[i]),
                "points": float(leaf.points),
            },
            target=None if leaf.target is None else float(leaf.target),
            budget=m.target_source.kind == "budget",
            explain=explain.leaf_static(
                compiled.rules[i],
                leaf.operator,
                m.unit,
                None if leaf.target is None else float(leaf.target),
                m.target_source.model_dump(mode="json"),
                req.region,
                req.fiscal_year,
            ),
        )
        for i, (leaf, m) in enumerate(zip(compiled.leaves, p.meta, strict=True))
    ]
    nodes = [
        {
            "code": path[-1],
            "name": p.node_names.get(path, path[-1]),
            "level": len(path),
            "path": list(path),
            "points": float(
                sum(lf.points for lf in compiled.leaves if lf.path[: len(path)] == path)
            ),
        }
        for path in compiled.node_paths
    ]
    if st is not None and st.compiled is compiled:
        st.static = (leaves, nodes)
    return leaves, nodes


def _fragments(data: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """``data`` with the values of ``keys`` serialised once (what ``orjson.dumps`` writes of
    them, copied as they are into every receipt that contains them)."""
    return {k: orjson.Fragment(orjson.dumps(v)) if k in keys else v for k, v in data.items()}


def _static_json(
    p: Prepared, compiled: rules.CompiledTree, leaves: list[StaticLeaf], lang: str
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Each leaf's template and static explanation for a receipt answered as JSON in ``lang``:
    the nested values (target source, rule, target words, rule words, target origin)
    pre-serialised, the ``explain`` slot and the ``rule_label`` in ``lang`` in place (the
    answer's field order); cached per language on the structure with :func:`_static_parts`'
    parts."""
    st = p.structure
    cached = st.static_json.get(lang) if st is not None and st.compiled is compiled else None
    if cached is not None:
        return cached
    parts = [
        (
            {
                **leaf.template,
                **_fragments(leaf.mid, ("target_source", "rule")),
                "explain": None,
                **rule_label_field(leaf.mid["rule"], lang),
            },
            _fragments(leaf.explain or {}, ("target", "rule", "target_origin")),
        )
        for leaf in leaves
    ]
    if st is not None and st.compiled is compiled:
        st.static_json[lang] = parts
    return parts


def _jsonable(x: Any) -> Any:
    """A rule's parameters as JSON values (what ``model_dump(mode="json")`` gives)."""
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x


def receipt_dict(
    p: Prepared,
    compiled: rules.CompiledTree,
    result: rules.BatchResult,
    item: int = 0,
    leaf_offset: int = 0,
    node_offset: int = 0,
    *,
    answer: bool = False,
) -> dict[str, Any]:
    """The receipt as plain JSON data, equal to ``Receipt.model_dump(mode="json")`` (the hot
    path: no models per leaf; the value-independent parts come from the structure's cache and
    are shared between receipts: serialise the dict, do not mutate it).

    With ``answer`` it is the receipt as answered, for ``orjson.dumps`` only: each leaf
    carries its labels in the current language (those of ``scoring.labels.leaf_label_fields``,
    as ``receipt_labels`` adds them: the rule's from the language's template, the values'
    per leaf) and its static nested values as pre-serialised fragments
    (:func:`_static_json`); ``receipt_labels(..., leaves=False)`` adds the receipt's own."""
    req = p.request
    fw = p.framework
    static_leaves, static_nodes = _static_parts(p, compiled)
    lang = current_language()
    static_json = _static_json(p, compiled, static_leaves, lang) if answer else None
    n = len(static_leaves)
    sl = slice(leaf_offset, leaf_offset + n)
    applicable = result.leaf_applicable[sl].tolist()
    fraction = result.leaf_fraction[sl].tolist()
    score_ = result.leaf_score[sl].tolist()
    lost = result.leaf_lost[sl].tolist()
    eff = result.leaf_effective_weight[sl].tolist()
    warn = result.leaf_warnings[sl].tolist()
    budget = req.budget
    observations = p.observations
    leaves_out: list[dict[str, Any]] = []
    all_warnings: set[str] = set()
    budget_pair = explain.budget_pair(budget)
    budget_leaf: dict[str, Any] | None = None
    pending: list[tuple[dict[str, Any], explain.Pending]] = []
    for i, st in enumerate(static_leaves):
        ob = observations.get(st.head["id"])
        if ob is None:
            status = "missing"
        elif ob.not_applicable:
            status = "not_applicable"
        elif ob.value is None and ob.level is None:
            status = "missing"
        else:
            status = "value"
        if st.budget and budget is not None:
            raw_value: float | None = float(budget.executed)
            target: float | None = float(budget.adjusted)
            explanation = budget.explanation
        else:
            raw_value = None if ob is None or ob.value is None else float(ob.value)
            target = st.target
            explanation = getattr(ob, "explanation", None)  # request values carry one
        template, ex_static = (st.template, st.explain) if static_json is None else static_json[i]
        warnings = rules.warning_names(warn[i]) if warn[i] else []
        f, sc, lo = fraction[i], score_[i], lost[i]
        if explanation is None and (lo > 0 or not EXPLAINED_WARNINGS.isdisjoint(warnings)):
            warnings.append(EXPLANATION_MISSING)  # lost is NaN (not > 0) without a score
        all_warnings.update(warnings)
        # the template's copy keeps the fields' order; the values are written in
        leaf_out = template.copy()
        leaf_out["status"] = status
        leaf_out["raw_value"] = raw_value
        leaf_out["target"] = target
        leaf_out["applicable"] = applicable[i]
        leaf_out["fraction"] = None if f != f else f
        leaf_out["score"] = None if sc != sc else sc
        leaf_out["lost"] = None if lo != lo else lo
        leaf_out["effective_weight"] = eff[i]
        if ob is not None:
            leaf_out["level"] = ob.level
            leaf_out["deduction"] = float(ob.deduction) if ob.deduction else None
            leaf_out["deduction_reason"] = ob.deduction_reason
        leaf_out["explanation"] = explanation
        leaf_out["warnings"] = warnings
        is_budget = st.budget and budget is not None
        assert ex_static is not None
        rule = st.mid["rule"]
        leaf_out["explain"], formula = explain.leaf_explain(
            ex_static,
            leaf_out,
            rule,
            getattr(ob, "level_score", None),
            budget_pair if is_budget else None,
        )
        if formula is not None:
            pending.append((leaf_out["explain"], formula))
        if static_json is not None:
            leaf_out.update(leaf_value_labels(rule, leaf_out["level"], warnings, lang))
        if is_budget:
            budget_leaf = leaf_out
        leaves_out.append(leaf_out)
    explain.close_formulas(pending)
    nn = len(static_nodes)
    node_points = result.node_points[node_offset : node_offset + nn].tolist()
    subtotal = result.node_subtotal[node_offset : node_offset + nn].tolist()
    nodes_out = [
        {
            "code": st["code"],
            "name": st["name"],
            "level": st["level"],
            "path": st["path"],
            "points": st["points"],
            "applicable_points": node_points[k],
            "subtotal": subtotal[k],
        }
        for k, st in enumerate(static_nodes)
    ]
    band = result.band(item)
    total = float(result.item_total[item])
    out = {
        "framework": {
            "code": fw.code,
            "version": fw.version,
            "name_zh": fw.doc.name_zh,
            "name_en": fw.doc.name_en,
        },
        "namespaces": dict(fw.namespaces),
        "project": req.project,
        "unit": req.unit,
        "region": req.region,
        "fiscal_year": req.fiscal_year,
        "missing_policy": fw.doc.missing_policy,
        "rounding": rules.ROUNDING_RULE,
        "leaves": leaves_out,
        "nodes": nodes_out,
        "applicable_points": float(result.item_applicable_points[item]),
        "score_sum": float(result.item_score_sum[item]),
        "total": None if total != total else total,
        "grade": {
            "grade": band.grade,
            "name_en": band.name_en,
            "min": float(band.min),
            "max": float(band.max),
            "recommendation_zh": band.recommendation_zh,
            "recommendation_en": band.recommendation_en,
            "consequences_source": _consequences_source(fw),
        }
        if band
        else None,
        "warnings": sorted(all_warnings),
        "input_hash": input_hash(req, fw),
    }
    if req.form is not None:
        out["form"] = req.form.model_dump(mode="json")
    out["explain"] = explain.receipt_explain(
        out,
        None if budget is None else {"adjusted": budget.adjusted, "executed": budget.executed},
        budget_leaf,
        explain.band_words(band.grade, band.name_en) if band else None,
    )
    return out


def summary_dict(
    p: Prepared,
    compiled: rules.CompiledTree,
    result: rules.BatchResult,
    item: int = 0,
    leaf_offset: int = 0,
) -> dict[str, Any]:
    """The summary receipt (``?receipt=summary``) as plain JSON data, equal to
    ``ReceiptSummary.model_dump(mode="json")``: the versions used, the total, the grade, each
    leaf's score and points lost, and the input hash. The same numbers as the full receipt."""
    fw = p.framework
    static_leaves, _nodes = _static_parts(p, compiled)
    sl = slice(leaf_offset, leaf_offset + len(static_leaves))
    score_ = result.leaf_score[sl].tolist()
    lost = result.leaf_lost[sl].tolist()
    band = result.band(item)
    total = float(result.item_total[item])
    return {
        "framework": {
            "code": fw.code,
            "version": fw.version,
            "name_zh": fw.doc.name_zh,
            "name_en": fw.doc.name_en,
        },
        "namespaces": dict(fw.namespaces),
        "total": None if total != total else total,
        "grade": band.grade if band else None,
        "leaves": [
            {
                "id": st.head["id"],
                "indicator": st.head["indicator"],
                "score": None if sc != sc else sc,
                "lost": None if lo != lo else lo,
            }
            for st, sc, lo in zip(static_leaves, score_, lost, strict=True)
        ],
        "input_hash": input_hash(p.request, fw),
    }


def _consequences_source(fw: ResolvedFramework) -> dict[str, Any] | None:
    src = fw.doc.consequences_source
    return None if src is None else _citation_json(src)


@lru_cache(maxsize=64)
def _citation_json(src: Citation) -> dict[str, Any]:
    """A citation as JSON data, dumped once per citation (frozen models, hashed by content);
    shared between receipts like their other static parts: not to be mutated."""
    return src.model_dump(mode="json")


def receipt(
    p: Prepared,
    compiled: rules.CompiledTree,
    result: rules.BatchResult,
    item: int = 0,
    leaf_offset: int = 0,
    node_offset: int = 0,
) -> Receipt:
    return Receipt.model_validate(receipt_dict(p, compiled, result, item, leaf_offset, node_offset))


def score(req: ScoreRequest, catalogue: CatalogueLookup) -> Receipt:
    """Score one submission; a 422 names every offending row and field."""
    return Receipt.model_validate(receipt_dict(*_score(req, catalogue)))


def score_json(req: ScoreRequest, catalogue: CatalogueLookup, *, summary: bool = False) -> bytes:
    """``score`` serialised: the receipt (or with ``summary`` the summary receipt) as JSON
    bytes, built without per-leaf models, with the labels of the current language."""
    if summary:
        scored = _score(req, catalogue)
        return orjson.dumps(summary_labels(summary_dict(*scored), band_names(scored[1])))
    return orjson.dumps(
        receipt_labels(receipt_dict(*_score(req, catalogue), answer=True), leaves=False)
    )


def band_names(compiled: rules.CompiledTree, item: int = 0) -> dict[str, str]:
    """The grade names (``labels.GradeNames``) of the bands ``item`` of ``compiled`` is graded
    by."""
    return grade_names(compiled.band_sets[int(compiled.band_set[item])])


def _score(
    req: ScoreRequest, catalogue: CatalogueLookup
) -> tuple[Prepared, rules.CompiledTree, rules.BatchResult]:
    p = prepare(req, catalogue)
    if p.errors:
        raise Unprocessable(_("the submission has problems"), errors=p.errors)
    compiled = compile_prepared(p)
    cols, conv = rules.observations_to_columns(compiled, [p.observations])
    result = rules.evaluate(compiled, cols)
    errors = leaf_errors(p, result)
    if conv:
        errors += [error_item(("body", c), msg, t) for _row, c, t, msg in conv]
    if errors:
        raise Unprocessable(_("the submission has problems"), errors=errors)
    return p, compiled, result
