"""Scoring many submissions. :func:`score_batch_body` is the one entry point of a batch body
(JSON or CSV): it takes the shared-structure path when every submission has the same rows
(:func:`score_shared_structure`), else the general path (:func:`score_batch`, one engine call
per compiled tree). The columnar form (:func:`score_columnar`: the rows once, the values as a
matrix) is the compact body of ``POST /v1/score/columnar``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Annotated, Any, cast

import numpy as np
import orjson
from pydantic import TypeAdapter, ValidationError

from indicator_service import rules
from indicator_service.core.errors import ErrorItem, NotFound, Unprocessable
from indicator_service.core.gcpause import gc_paused
from indicator_service.core.i18n import _, validation_message
from indicator_service.scoring.csvform import read_batch_csv, validated
from indicator_service.scoring.labels import GradeNames, batch_labels, columnar_labels, grade_names
from indicator_service.scoring.lookup import (
    CatalogueLookup,
    ResolvedFramework,
    StructureCache,
)
from indicator_service.scoring.prepare import (
    Prepared,
    Structure,
    compile_prepared,
    error_item,
    prepare,
)
from indicator_service.scoring.receipts import (
    band_names,
    hashed_template,
    input_hash,
    leaf_errors,
    receipt,
    summary_dict,
    template_input_hash,
)
from indicator_service.scoring.schemas import (
    MAX_BATCH_ITEMS,
    BatchEnvelope,
    BatchItemOut,
    BatchRequest,
    BatchResponse,
    BudgetIn,
    ReceiptSummary,
    ScoreRequest,
)


def score_batch(
    items: Sequence[ScoreRequest | list[ErrorItem]],
    catalogue: CatalogueLookup,
    *,
    validate_only: bool = False,
    detail: bool = False,
    summary: bool = False,
    projects: Sequence[str | None] | None = None,
) -> BatchResponse:
    """Score many submissions in one engine call; one bad item does not sink the others
    (``detail``: each item with its full receipt; ``summary``: with its summary receipt).

    Every item answer echoes the item's ``project`` and, once its framework is resolved, its
    ``input_hash``; ``projects`` gives the project of each item that failed validation (when
    its project field itself is valid)."""
    return _score_batch(
        items,
        catalogue,
        validate_only=validate_only,
        detail=detail,
        summary=summary,
        projects=projects,
    )[0]


def _score_batch(
    items: Sequence[ScoreRequest | list[ErrorItem]],
    catalogue: CatalogueLookup,
    *,
    validate_only: bool,
    detail: bool,
    summary: bool,
    projects: Sequence[str | None] | None,
) -> tuple[BatchResponse, list[GradeNames | None]]:
    """:func:`score_batch` and each item's grade names (None for an item without a grade)."""
    names: list[GradeNames | None] = [None] * len(items)
    prepared: list[Prepared | None] = []
    compiled: list[rules.CompiledTree] = []
    shared: StructureCache | None = getattr(catalogue, "structures", None)
    structures: dict[Any, Structure] | StructureCache = shared if shared is not None else {}
    out: list[BatchItemOut] = []
    for i, req in enumerate(items):
        loc0: tuple[str | int, ...] = ("body", "items", i)
        if isinstance(req, list):  # failed request validation
            project = projects[i] if projects is not None else None
            out.append(BatchItemOut(index=i, ok=False, project=project, errors=req))
            prepared.append(None)
            continue
        try:
            p = prepare(req, catalogue, loc0, structures)
        except NotFound as exc:
            out.append(
                BatchItemOut(
                    index=i,
                    ok=False,
                    project=req.project,
                    errors=[ErrorItem(loc=[*loc0, "framework"], msg=exc.detail, type="not_found")],
                )
            )
            prepared.append(None)
            continue
        echo = {"project": req.project, "input_hash": input_hash(req, p.framework)}
        if p.errors:
            out.append(BatchItemOut(index=i, ok=False, errors=p.errors, **echo))
            prepared.append(None)
            continue
        try:
            compiled.append(compile_prepared(p))
        except Unprocessable as exc:
            out.append(BatchItemOut(index=i, ok=False, errors=exc.errors, **echo))
            prepared.append(None)
            continue
        prepared.append(p)
        out.append(BatchItemOut(index=i, ok=True, **echo))
    # One engine call per compiled tree: submissions of one structure (the common case: a
    # batch of one framework's forms) share a tiled tree and one set of columns.
    groups: dict[int, tuple[rules.CompiledTree, list[tuple[int, Prepared]]]] = {}
    good = [(i, q) for i, q in enumerate(prepared) if q is not None]
    for t, (i, q) in zip(compiled, good, strict=True):
        groups.setdefault(id(t), (t, []))[1].append((i, q))
    for t, members in groups.values():
        cols, conv = rules.observations_to_columns(t, [p.observations for _i, p in members])
        result = rules.evaluate(t.tile(len(members)), cols)
        bad_items = {item for item, *_ in conv}
        failed = set(np.flatnonzero(result.item_error).tolist()) | bad_items
        totals = result.item_total.tolist()
        for item, (i, p) in enumerate(members):
            leaf_off, node_off = item * t.n_leaves, item * t.n_nodes
            if item in failed:
                errs = leaf_errors(p, result, leaf_off)
                errs += [
                    error_item(("body", "items", i, c), msg, ty)
                    for it, c, ty, msg in conv
                    if it == item
                ]
                if errs:
                    out[i] = BatchItemOut(
                        index=i,
                        ok=False,
                        project=out[i].project,
                        input_hash=out[i].input_hash,
                        errors=errs,
                    )
                    continue
            if not validate_only:
                band = result.band(item)
                names[i] = band_names(result.batch, item)
                total = totals[item]
                out[i] = BatchItemOut(
                    index=i,
                    ok=True,
                    project=out[i].project,
                    input_hash=out[i].input_hash,
                    total=None if total != total else total,
                    grade=band.grade if band else None,
                    result=receipt(p, t, result, item, leaf_off, node_off) if detail else None,
                    summary=(
                        ReceiptSummary.model_validate(summary_dict(p, t, result, item, leaf_off))
                        if summary
                        else None
                    ),
                )
    ok = sum(1 for o in out if o.ok)
    response = BatchResponse(
        count=len(out), ok=ok, failed=len(out) - ok, validate_only=validate_only, items=out
    )
    return response, names


_VALUE_FIELDS = ("value", "level", "level_score", "not_applicable", "deduction", "explanation")


def score_columnar(
    template: ScoreRequest,
    values: Sequence[Sequence[float | None]],
    budgets: Sequence[BudgetIn] | None,
    catalogue: CatalogueLookup,
) -> bytes:
    """Score N submissions that share ``template``'s structure, given as an (N, rows) matrix of
    numeric actuals (+ optional per-submission budgets), in one vectorised engine call. The
    structure is prepared and compiled once; per submission only numbers are read. Returns the
    :class:`ColumnarBatchResponse` as JSON bytes. Totals equal those of the JSON batch for the
    same submissions."""
    scored, _framework, names = _columnar(template, values, budgets, catalogue)
    return orjson.dumps(columnar_labels(scored, names))


def columnar_scores(
    template: ScoreRequest,
    values: Sequence[Sequence[float | None]],
    budgets: Sequence[BudgetIn] | None,
    catalogue: CatalogueLookup,
) -> dict[str, Any]:
    """:func:`score_columnar`'s response as plain data (count, ok, failed, totals, grades,
    errors)."""
    return _columnar(template, values, budgets, catalogue)[0]


def _columnar(
    template: ScoreRequest,
    values: Sequence[Sequence[float | None]],
    budgets: Sequence[BudgetIn] | None,
    catalogue: CatalogueLookup,
) -> tuple[dict[str, Any], ResolvedFramework, GradeNames]:
    """:func:`columnar_scores`, the framework version it scored with and its grade names."""
    loc0: tuple[str | int, ...] = ("body", "template")
    errors = [
        error_item(
            (*loc0, "rows", i, f), _("the template's rows take no values (use values)"), "extra"
        )
        for i, r in enumerate(template.rows)
        for f in _VALUE_FIELDS
        if f in r.model_fields_set
    ]
    if template.values:
        errors.append(error_item((*loc0, "values"), _("not in the columnar form"), "extra"))
    if template.budget is not None:
        errors.append(error_item((*loc0, "budget"), _("give per-submission budgets"), "extra"))
    n, r = len(values), len(template.rows)
    errors += [
        error_item(
            ("body", "values", k), _("expected {r} values (one per template row)", r=r), "length"
        )
        for k, vs in enumerate(values)
        if len(vs) != r
    ]
    if budgets is not None and len(budgets) != n:
        errors.append(error_item(("body", "budgets"), _("expected {n} budgets", n=n), "length"))
    if errors:
        raise Unprocessable(_("the columnar batch has problems"), errors=errors)
    req = template
    if budgets:
        req = template.model_copy(update={"budget": budgets[0]})
    p = prepare(req, catalogue, loc0)
    if p.errors:
        raise Unprocessable(_("the template has problems"), errors=p.errors)
    compiled = compile_prepared(p)
    assert p.structure is not None
    matrix = np.array(values, dtype=np.float64) if r else np.empty((n, 0))  # None → NaN
    actual = np.full((n, compiled.n_leaves), np.nan)
    column = {leaf.code: i for i, leaf in enumerate(compiled.leaves)}
    where: dict[int, tuple[str | int, ...]] = {}  # leaf column → location of its value
    for leaf_id, _kind, source, k, _rel in p.structure.sources:
        i = column[leaf_id]
        if source == "rows":
            actual[:, i] = matrix[:, k]
            where[i] = ("values", k)
        elif source == "budget" and budgets:
            executed = np.array([b.executed for b in budgets], dtype=np.float64)
            adjusted = np.array([b.adjusted for b in budgets], dtype=np.float64)
            with np.errstate(over="ignore"):  # an infinite rate is the engine's error 7
                actual[:, i] = executed * 100.0 / adjusted  # as prepare() computes it
            where[i] = ("budgets",)
    result = rules.score_columns(compiled, actual)
    leaf_error = result.leaf_error.reshape(n, compiled.n_leaves)
    failed_items = np.flatnonzero(leaf_error.any(axis=1)).tolist()
    totals: list[float | None] = [None if t != t else t for t in result.item_total.tolist()]
    bands = compiled.band_sets[int(compiled.band_set[0])]
    grades: list[str | None] = [
        bands[g].grade if g >= 0 else None for g in result.item_grade.tolist()
    ]
    item_errors = []
    for item in failed_items:
        totals[item] = grades[item] = None
        found = []
        for i in np.flatnonzero(leaf_error[item]).tolist():
            code = int(leaf_error[item, i])
            type_, msg = rules.ERROR_CODES[code]
            rel = where.get(i)
            if rel is None:  # a fixed leaf of the framework that the columnar form cannot fill
                loc: list[str | int] = [*loc0, "framework"]
            elif rel[0] == "values":
                loc = ["body", "values", item, rel[1]]
            else:
                loc = ["body", "budgets", item]
            found.append({"loc": loc, "msg": msg, "type": type_})
        item_errors.append({"index": item, "errors": found})
    return (
        {
            "count": n,
            "ok": n - len(failed_items),
            "failed": len(failed_items),
            "totals": totals,
            "grades": grades,
            "errors": item_errors,
        },
        p.framework,
        grade_names(bands),
    )


# What may differ between submissions scored as one structure (besides their rows' values).
_PER_SUBMISSION = ("rows", "project", "budget")
_PROJECT_FIELD = ScoreRequest.model_fields["project"]
_PROJECT: TypeAdapter[Any] = TypeAdapter(
    cast(Any, Annotated[_PROJECT_FIELD.annotation, _PROJECT_FIELD])  # the field as declared
)
_BUDGETS = TypeAdapter(list[BudgetIn])


def score_shared_structure(
    subs: Sequence[Any], catalogue: CatalogueLookup, *, exact: bool = False
) -> dict[str, Any] | None:
    """The :class:`BatchResponse` (as data) of submission dicts that share one structure
    (:func:`_shared_structure`), or ``None`` for the general path."""
    shared = _shared_structure(subs, catalogue, exact=exact)
    return None if shared is None else shared[0]


def _shared_structure(
    subs: Sequence[Any], catalogue: CatalogueLookup, *, exact: bool = False
) -> tuple[dict[str, Any], GradeNames] | None:
    """The :class:`BatchResponse` (as data) of submission dicts that share one structure, scored
    as one columnar batch, and its framework's grade names; ``None`` when they do not qualify
    and must go the general way.

    They qualify when every submission has the first one's fields (but for project, budget and
    its rows' numeric ``value``), row for row, each row carrying no other value field (level,
    not applicable, deduction …), and every submission scores: a batch with a problem anywhere
    takes the general path, which locates each problem in its own item. The template is
    validated once as a :class:`ScoreRequest`, the budgets and projects one by one; totals are
    those of the general path (the same engine on the same numbers).

    ``exact``: compare fields by their canonical JSON (1, 1.0 and true differ), for parsed JSON;
    without it, Python equality, enough for dicts read from a table (text and float cells)."""
    first = subs[0] if subs else None
    if not isinstance(first, dict) or not isinstance(first.get("rows"), list):
        return None
    head = {k: v for k, v in first.items() if k not in _PER_SUBMISSION}
    if not first["rows"] or not all(isinstance(r, dict) for r in first["rows"]):
        return None
    shape = [{k: v for k, v in r.items() if k != "value"} for r in first["rows"]]
    if any(f in r for r in shape for f in _VALUE_FIELDS):
        return None
    budgeted = "budget" in first
    values: list[list[float | None]] = []
    try:
        same_head = _sameness(head, exact)
        same_rows = _sameness(shape, exact)
        for sub in subs:
            rows = sub.get("rows") if isinstance(sub, dict) else None
            if (
                not isinstance(rows, list)
                or len(rows) != len(shape)
                or ("budget" in sub) != budgeted
                or not same_head({k: v for k, v in sub.items() if k not in _PER_SUBMISSION})
                or not all(type(row) is dict for row in rows)
            ):
                return None
            # The rows without their values must be the first submission's, all at once
            # (the values are taken out for the comparison and put back at once).
            taken = [row.pop("value", _ABSENT) for row in rows]
            try:
                same = same_rows(rows)
            finally:
                for row, value in zip(rows, taken, strict=True):
                    if value is not _ABSENT:
                        row["value"] = value
            if not same:
                return None
            numbers: list[float | None] = []
            for value in taken:
                if value is _ABSENT or value is None:
                    numbers.append(None)
                elif type(value) is float and math.isfinite(value):
                    numbers.append(value)
                elif type(value) is int and abs(value) <= 2**53:  # exactly a float
                    numbers.append(float(value))
                else:
                    return None
            values.append(numbers)
        projects = {s.get("project") for s in subs}
    except (TypeError, orjson.JSONEncodeError):  # unhashable or unencodable: not a plain batch
        return None
    try:
        template = ScoreRequest.model_validate({**head, "rows": shape})
        budgets = _BUDGETS.validate_python([s["budget"] for s in subs]) if budgeted else None
        for project in projects:
            _PROJECT.validate_python(project)
        scored, framework, names = _columnar(template, values, budgets, catalogue)
    except (ValidationError, Unprocessable, NotFound):
        return None
    if scored["failed"]:
        return None
    hashed = hashed_template(template)
    hashes = [
        template_input_hash(
            hashed,
            framework,
            numbers,
            sub.get("project"),
            budgets[k] if budgets is not None else None,
        )
        for k, (sub, numbers) in enumerate(zip(subs, values, strict=True))
    ]
    return {
        "count": scored["count"],
        "ok": scored["ok"],
        "failed": 0,
        "validate_only": False,
        "items": [
            {
                "index": i,
                "ok": True,
                "project": sub.get("project"),
                "input_hash": h,
                "result": None,
                "total": t,
                "grade": g,
                "errors": [],
            }
            for i, (t, g, sub, h) in enumerate(
                zip(scored["totals"], scored["grades"], subs, hashes, strict=True)
            )
        ],
    }, names


_ABSENT = object()  # a row without a value field


def _sameness(want: Any, exact: bool) -> Callable[[Any], bool]:
    """``x → x is the same data as want``: by canonical JSON bytes when ``exact``."""
    if not exact:
        return lambda x: bool(x == want)
    encoded = orjson.dumps(want, option=orjson.OPT_SORT_KEYS)
    return lambda x: orjson.dumps(x, option=orjson.OPT_SORT_KEYS) == encoded


def score_batch_body(
    raw: bytes,
    media: str,
    catalogue: CatalogueLookup,
    *,
    validate_only: bool,
    detail: bool,
    summary: bool = False,
) -> bytes:
    """A JSON or CSV batch body (``POST /v1/score/batch``) → the :class:`BatchResponse` as JSON
    bytes. One structure goes the columnar way (:func:`score_shared_structure`), the rest is
    validated item by item and scored by :func:`score_batch`. Run it off the event loop."""
    with gc_paused():  # millions of short-lived objects: see core.gcpause
        items: list[ScoreRequest | list[ErrorItem]]
        raw_items: Sequence[Any]
        if media == "text/csv":
            keys, subs = read_batch_csv(raw)
            if not (validate_only or detail or summary):  # a form's lines: one structure
                shared = _shared_structure(subs, catalogue)
                if shared is not None:
                    return _shared_answer(*shared)
            items = validated(keys, subs)
            raw_items = subs
        else:
            if not (validate_only or detail or summary):
                shared = _shared_json_batch(raw, catalogue)
                if shared is not None:
                    return _shared_answer(*shared)
            try:  # the common case, every item valid: one pass of parsing and validation
                whole = BatchRequest.model_validate_json(raw)
                items = list(whole.items)
                raw_items = ()
                validate_only = validate_only or whole.validate_only
            except ValidationError:
                try:
                    envelope = BatchEnvelope.model_validate_json(raw)
                except ValidationError as exc:
                    raise Unprocessable(
                        _("invalid batch"), errors=_validation_errors(exc, ["body"])
                    ) from exc
                items = []
                for i, raw_item in enumerate(envelope.items):
                    try:
                        items.append(ScoreRequest.model_validate(raw_item))
                    except ValidationError as exc:
                        items.append(_validation_errors(exc, ["body", "items", i]))
                raw_items = envelope.items
                validate_only = validate_only or envelope.validate_only
        projects = [
            valid_project(raw_items[i]) if isinstance(item, list) else None
            for i, item in enumerate(items)
        ]
        out, names = _score_batch(
            items,
            catalogue,
            validate_only=validate_only,
            detail=detail,
            summary=summary,
            projects=projects,
        )
        return orjson.dumps(batch_labels(out.model_dump(mode="json"), names))


def _shared_answer(batch: dict[str, Any], names: GradeNames) -> bytes:
    """A batch scored as one structure, labelled (one framework: one set of grade names)."""
    return orjson.dumps(batch_labels(batch, [names] * len(batch["items"])))


def _shared_json_batch(
    raw: bytes, catalogue: CatalogueLookup
) -> tuple[dict[str, Any], GradeNames] | None:
    """A JSON batch of one structure scored as one columnar batch (see
    :func:`score_shared_structure`), or ``None`` for the general path."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or set(data) - {"items", "validate_only"}:
        return None
    items = data.get("items")
    if data.get("validate_only", False) is not False or not isinstance(items, list):
        return None
    if not 1 <= len(items) <= MAX_BATCH_ITEMS:
        return None
    return _shared_structure(items, catalogue, exact=True)


def valid_project(raw_item: Any) -> str | None:
    """The ``project`` of an item that failed validation, when that field itself is valid."""
    if not isinstance(raw_item, dict):
        return None
    try:
        project = _PROJECT.validate_python(raw_item.get("project"))
    except ValidationError:
        return None
    return cast(str | None, project)


def _validation_errors(exc: ValidationError, prefix: list[str | int]) -> list[ErrorItem]:
    return [
        ErrorItem(loc=[*prefix, *e["loc"]], msg=validation_message(e), type=e["type"])
        for e in exc.errors()
    ]
